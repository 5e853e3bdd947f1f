/**
 * Shared by the cold-start benches (bench/cli-version.ts, bench/cli-commands.ts): the baseline
 * binary — a `bun build --compile` hello world built in the same run with the same bun, so it
 * carries the same runtime start-up cost as dist/xvm and nothing else — and alternating timed runs
 * of whole processes, reported as medians with the ratio and the goal beside them.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const argv = process.argv.slice(2);
export const opt = (name: string, fallback: string): string => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
export const bin = resolve(opt("--bin", process.env.XVM_BIN ?? join(repo, "dist/xvm")));
export const rounds = Number(opt("--rounds", "25"));

/** Builds the hello-world baseline binary into `dir`; returns its path. */
export function buildHello(dir: string): string {
  const src = join(dir, "hello.ts");
  const out = join(dir, "hello");
  writeFileSync(src, 'console.log("hello");\n');
  execFileSync(join(repo, "node_modules/.bin/bun"), ["build", "--compile", src, "--outfile", out], { stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

export interface Run {
  label: string;
  cmd: string;
  args: string[];
  /** What stdout must hold (a wrong answer is not a fast answer). */
  expect?: RegExp;
}

/** Runs one process to its end; returns its wall time in ms. */
function once(run: Run, env: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(run.cmd, run.args, { env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${run.label} exited ${r.status ?? r.signal}: ${r.stderr}`);
  if (run.expect && !run.expect.test(r.stdout)) throw new Error(`${run.label} printed ${JSON.stringify(r.stdout.slice(0, 200))}`);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/**
 * Times every run `rounds` times, interleaved (one of each per round, so that load on the shared
 * machine hits all of them alike), after two warm-up rounds that fill the page cache. Medians.
 */
export function measure(runs: readonly Run[], env: NodeJS.ProcessEnv = process.env): Map<string, number> {
  const samples = new Map(runs.map((r) => [r.label, [] as number[]]));
  for (let i = 0; i < 2; i++) for (const r of runs) once(r, env);
  for (let i = 0; i < rounds; i++) for (const r of runs) samples.get(r.label)!.push(once(r, env));
  return new Map([...samples].map(([k, xs]) => [k, median(xs)]));
}

/** One line: the figure, its baseline from the same run, the ratio, and the goal beside it. */
export function report(label: string, figure: number, baseLabel: string, base: number, goal: number): boolean {
  const ratio = figure / base;
  const met = ratio <= goal;
  console.log(
    `${label.padEnd(30)} ${figure.toFixed(1).padStart(6)} ms | ${baseLabel} ${base.toFixed(1).padStart(5)} ms | ratio ${ratio.toFixed(2)}x | goal <= ${goal}x ${met ? "met" : "MISSED"}`,
  );
  return met;
}
