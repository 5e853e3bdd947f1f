/**
 * Cold start of `xvm svccfg -s xend listprop` (compiled binary, existing repository) next to
 * `bun -e ''` measured in the same run, plus `xvm --version` (the binary's own start, no command
 * work) and a setprop (one locked, fsynced commit). Each command
 * runs `--rounds` times (default 20), alternating; the median counts. The figure is the ratio
 * svccfg / bun.
 *
 * Usage: node --import tsx bench/svccfg-cold-start.ts [--bin dist/xvm] [--rounds 20]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const root = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const bin = resolve(arg("bin", join(root, "dist/xvm")));
const bun = join(root, "node_modules/.bin/bun");
const rounds = Number(arg("rounds", "20"));
const state = mkdtempSync(join(tmpdir(), "xvm-bench-svccfg-"));
const env = { ...process.env, XVM_ROOT: state };

function time(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return ms;
}

const runs: Record<string, () => number> = {
  // `bun -e ''` is the baseline (with an empty script bun prints its help); `bun -e 0` runs one.
  "bun -e ''": () => time(bun, ["-e", ""]),
  "bun -e 0": () => time(bun, ["-e", "0"]),
  "xvm --version": () => time(bin, ["--version"]),
  "xvm svccfg -s xend listprop": () => time(bin, ["svccfg", "-s", "xend", "listprop"]),
  "xvm svccfg -s xend setprop": () => time(bin, ["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "1"]),
};

try {
  // First run imports the manifest (creates the repository); not a cold start of listprop.
  runs["xvm svccfg -s xend listprop"]!();
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++) for (const [k, fn] of Object.entries(runs)) samples[k]!.push(fn());
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(samples["bun -e ''"]!);
  for (const [k, xs] of Object.entries(samples)) {
    console.log(`${k.padEnd(30)} median ${median(xs).toFixed(1).padStart(7)} ms   ${(median(xs) / base).toFixed(2)}x bun -e ''`);
  }
} finally {
  rmSync(state, { recursive: true, force: true });
}
