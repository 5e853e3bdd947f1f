/**
 * node:net against Bun's native sockets (Bun.listen / Bun.connect) for the migration stream's
 * traffic pattern: 1 GiB of random bytes from a SharedArrayBuffer in 4 MiB writes, received into a
 * fresh SharedArrayBuffer (as guest memory), between two bun processes over 127.0.0.1. Both APIs
 * are measured in the same run, alternating, best of `--rounds`; the ratio is Bun native / node:net.
 *
 * The migration stream uses node:net: the same code runs on Node and Deno, and its writes buffer
 * (Bun's native write() returns what it wrote and the rest must be resent on drain). Switching
 * would be worth it only for a clear gain here.
 *
 * Usage: node --import tsx bench/migrate-sockets.ts [--mib 1024] [--rounds 3]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bytes = Number(opt("--mib", "1024")) * 2 ** 20;
const rounds = Number(opt("--rounds", "3"));
const bun = join(repo, "node_modules/.bin/bun");
const work = mkdtempSync(join(tmpdir(), "xvm-sockets-bench-"));

const CHILD = `
import { createServer, connect } from "node:net";
const [api, mode, a, b] = process.argv.slice(2);
const CHUNK = 4 * 2 ** 20;
if (mode === "sink") {
  const total = Number(a);
  const mem = new Uint8Array(new SharedArrayBuffer(total));
  let got = 0;
  const take = (d, reply) => { mem.set(d, got); got += d.length; if (got >= total) reply(); };
  if (api === "bun") {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data(s, d) { take(d, () => s.write(new Uint8Array([1]))); } } });
    console.log(server.port);
  } else {
    const server = createServer((s) => { s.on("data", (d) => take(d, () => s.write(Buffer.from([1])))); s.on("error", () => {}); });
    server.listen(0, "127.0.0.1", () => console.log(server.address().port));
  }
} else {
  const port = Number(a); const total = Number(b);
  const data = new Uint8Array(new SharedArrayBuffer(total));
  for (let i = 0; i < total; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  let at = 0; let t0 = 0;
  const done = () => { console.log(String(performance.now() - t0)); process.exit(0); };
  if (api === "bun") {
    let pending = null;
    const pump = (s) => {
      for (;;) {
        if (pending) { const n = s.write(pending); if (n < pending.length) { pending = pending.subarray(n); return; } pending = null; }
        if (at >= total) return;
        const len = Math.min(CHUNK, total - at); const view = new Uint8Array(data.buffer, at, len); at += len;
        const n = s.write(view); if (n < len) { pending = view.subarray(n); return; }
      }
    };
    await Bun.connect({ hostname: "127.0.0.1", port, socket: { open(s) { t0 = performance.now(); pump(s); }, drain(s) { pump(s); }, data() { done(); } } });
  } else {
    const s = connect({ host: "127.0.0.1", port }, () => {
      t0 = performance.now();
      const pump = () => { while (at < total) { const n = Math.min(CHUNK, total - at); const ok = s.write(Buffer.from(data.buffer, at, n)); at += n; if (!ok) return void s.once("drain", pump); } };
      s.once("data", done);
      pump();
    });
  }
}
`;
const childFile = join(work, "sockets-child.mjs");
writeFileSync(childFile, CHILD);

function child(args: string[]): { first: Promise<string>; kill(): void } {
  const c = spawn(bun, [childFile, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  const first = new Promise<string>((res, rej) => {
    c.stdout!.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) res(text.trim());
    });
    c.on("exit", (code) => (code ? rej(new Error(`child exited ${code}`)) : undefined));
  });
  return { first, kill: () => c.kill("SIGKILL") };
}

async function copy(api: "node" | "bun"): Promise<number> {
  const sink = child([api, "sink", String(bytes)]);
  const port = await sink.first;
  const ms = Number(await child([api, "source", port, String(bytes)]).first);
  sink.kill();
  return bytes / 2 ** 20 / (ms / 1000);
}

try {
  const node: number[] = [];
  const native: number[] = [];
  for (let r = 0; r < rounds; r++) {
    node.push(await copy("node"));
    native.push(await copy("bun"));
  }
  const n = Math.max(...node);
  const b = Math.max(...native);
  console.log(`${(bytes / 2 ** 20).toFixed(0)} MiB, SharedArrayBuffer to fresh SharedArrayBuffer, bun ${execFileSync(bun, ["--version"], { encoding: "utf8" }).trim()}`);
  console.log(`Bun.listen/Bun.connect  ${b.toFixed(0).padStart(6)} MiB/s | node:net (in bun) ${n.toFixed(0).padStart(6)} MiB/s | ratio ${(b / n).toFixed(2)}`);
  console.log(`all runs: node:net ${node.map((x) => x.toFixed(0)).join(" ")}; native ${native.map((x) => x.toFixed(0)).join(" ")}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

