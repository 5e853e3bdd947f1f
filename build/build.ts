/**
 * Builds the two artefacts from the same sources:
 *   dist/xvm.mjs  an esbuild bundle for Node (`node dist/xvm.mjs …`)
 *   dist/xvm      the single self-contained executable (`bun build --compile`)
 *   dist/man/     the manual pages, generated from the command definitions (`xvm man --dir`)
 * Worker entry points (`src/**\/*.worker.ts`) are passed to bun as extra entry points, as
 * `bun build --compile` requires for worker_threads. The executable is split into lazily loaded
 * chunks and carries bytecode (see the flags below).
 *
 * Usage: npm run build [-- --no-compile] [-- --if-stale] [-- --outdir DIR]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const args = new Set(argv);
// `--outdir DIR` builds somewhere else (parallel work must not overwrite a binary in use).
const outdirAt = argv.indexOf("--outdir");
const dist = outdirAt >= 0 && argv[outdirAt + 1] ? resolve(argv[outdirAt + 1]!) : join(root, "dist");

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) continue;
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
  return out;
}

const sources = ["bin", "src", "plugins"].flatMap((d) => walk(join(root, d))).filter((f) => /\.(ts|js)$/.test(f));
const workers = sources.filter((f) => f.endsWith(".worker.ts"));
const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs), statSync(join(root, "package-lock.json")).mtimeMs);

function stale(target: string): boolean {
  return !existsSync(target) || statSync(target).mtimeMs < newest;
}

mkdirSync(dist, { recursive: true });
const binary = join(dist, "xvm");
if (args.has("--if-stale") && !stale(binary) && !stale(join(dist, "xvm.mjs")) && !stale(join(dist, "plugin.d.ts"))) {
  console.log(`build: ${relative(root, binary)} is up to date`);
  process.exit(0);
}

const t0 = performance.now();
await build({
  entryPoints: [join(root, "bin/xvm.ts"), ...workers],
  outdir: dist,
  entryNames: "[name]",
  outExtension: { ".js": ".mjs" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  logLevel: "warning",
  // CommonJS dependencies bundled into ESM still call require(); give them one.
  banner: { js: "import { createRequire as __xvmCreateRequire } from 'node:module'; const require = __xvmCreateRequire(import.meta.url);" },
});
console.log(`build: dist/xvm.mjs (esbuild) in ${Math.round(performance.now() - t0)} ms`);

if (!args.has("--no-compile")) {
  const t1 = performance.now();
  const bun = join(root, "node_modules/.bin/bun");
  // Start-up (docs/architecture.md): --splitting puts each command area (the dynamic imports of
  // src/cli/registry.ts) in its own chunk inside the executable, evaluated only when that command
  // runs; --bytecode stores them precompiled, so a chunk that is loaded is not parsed either
  // (bytecode needs ESM output to keep top-level await).
  // --sourcemap: embedded, so that xend.log can name the source file and line of each record
  // ((module:lineno), as xend wrote it; src/daemon/log.ts) and stack traces name real files.
  const flags = ["--compile", "--splitting", "--bytecode", "--format=esm", "--minify-syntax", "--minify-whitespace", "--sourcemap"];
  // Compiled in a folder of its own: with --splitting and --sourcemap bun also writes a .map file
  // per chunk beside the executable (the executable carries them too), which would pile up in dist/.
  const scratch = mkdtempSync(join(dist, ".compile-"));
  try {
    execFileSync(bun, ["build", ...flags, join(root, "bin/xvm.ts"), ...workers, "--outfile", join(scratch, "xvm")], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
    });
    renameSync(join(scratch, "xvm"), binary);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  console.log(`build: dist/xvm (bun --compile, ${(statSync(binary).size / 2 ** 20).toFixed(1)} MiB) in ${Math.round(performance.now() - t1)} ms`);
}

// Declarations of `xvm/plugin` for plugin authors: dist/types/ (tsc's declaration emit of
// src/plugin/public.ts and what it imports) and dist/plugin.d.ts, the entry that re-exports it.
{
  const t2 = performance.now();
  const tsc = join(root, "node_modules/.bin/tsc");
  execFileSync(tsc, ["-p", join(root, "build/tsconfig.plugin-types.json"), "--outDir", join(dist, "types")], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  writeFileSync(join(dist, "plugin.d.ts"), `/** Types of \`xvm/plugin\` (src/plugin/public.ts), for plugins written in TypeScript. */\nexport * from "./types/src/plugin/public.ts";\n`);
  console.log(`build: dist/plugin.d.ts in ${Math.round(performance.now() - t2)} ms`);
}

// The manual pages, generated from the command definitions by the program just built (`xvm man`).
{
  const run = args.has("--no-compile") ? [process.execPath, join(dist, "xvm.mjs")] : [binary];
  execFileSync(run[0]!, [...run.slice(1), "man", "--dir", join(dist, "man")], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  console.log(`build: dist/man (${readdirSync(join(dist, "man")).length} pages)`);
}
