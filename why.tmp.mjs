import { build } from "esbuild";
const [e, ...targets] = process.argv.slice(2);
const r = await build({ entryPoints: [e], bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "error", outdir: "/tmp/i16/x" });
const inputs = r.metafile.inputs;
const prev = { [e]: null }; const q = [e];
while (q.length) { const c = q.shift(); for (const i of inputs[c]?.imports ?? []) { if (!i.path || i.path in prev || i.external) continue; prev[i.path] = c; q.push(i.path); } }
for (const t of targets) { const hit = Object.keys(prev).find((k) => k.includes(t)); if (!hit) { console.log(t, "not reached"); continue; } const chain = []; for (let c = hit; c; c = prev[c]) chain.unshift(c); console.log(chain.join("\n  <- ").replace(/<- /g, "-> ")); console.log(); }
