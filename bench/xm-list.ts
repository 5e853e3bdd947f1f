/**
 * `xm list` with 50 running domains, next to `xm --help` (the cost of starting the binary and
 * printing, with no daemon round trip), both run through the compiled binary, alternating, in the
 * same run. Also `xm list` with Domain-0 alone, to separate the per-domain cost from the fixed one.
 *
 *   node --import tsx bench/xm-list.ts [--bin dist/xvm] [--domains 50] [--runs 20]
 *
 * The guests are `sim:idle` with 16 MiB each; every process started is killed by pid at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { unixJson } from "../src/runtime/http-client.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bin = resolve(opt("--bin", process.env.XVM_BIN ?? join(repo, "dist/xvm")));
const domains = Number(opt("--domains", "50"));
const runs = Number(opt("--runs", "20"));

const root = mkdtempSync(join(tmpdir(), "xvm-bench-xm-list-"));
const env = { ...process.env, XVM_ROOT: root };
const socket = join(root, "var/run/xend/control.sock");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function timed(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(bin, args, { env, encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

function pairs(a: string[], b: string[]): [number, number] {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < 3; i++) {
    timed(a);
    timed(b);
  }
  for (let i = 0; i < runs; i++) {
    ta.push(timed(a));
    tb.push(timed(b));
  }
  return [median(ta), median(tb)];
}

function row(label: string, value: number, baseLabel: string, base: number): void {
  console.log(`${label.padEnd(34)} ${value.toFixed(1).padStart(7)} ms | ${baseLabel.padEnd(12)} ${base.toFixed(1).padStart(7)} ms | ratio ${(value / base).toFixed(2)}`);
}

function pidsToKill(xendPid: number | undefined): number[] {
  const pids = xendPid ? [xendPid] : [];
  const dir = join(root, "var/run/xend/domains");
  try {
    for (const d of readdirSync(dir)) {
      try {
        pids.push(Number.parseInt(readFileSync(join(dir, d, "pid"), "utf8"), 10));
      } catch {
        // not started yet
      }
    }
  } catch {
    // no guests
  }
  return pids.filter((p) => p > 1);
}

let xendPid: number | undefined;
try {
  const xend = spawn(bin, ["xend"], { env, stdio: "ignore" });
  xendPid = xend.pid;
  const deadline = Date.now() + 30_000;
  while (spawnSync(bin, ["xm", "list"], { env }).status !== 0) {
    if (Date.now() > deadline) throw new Error("xend did not answer within 30 s");
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(`binary ${bin}; ${runs} runs each (medians), alternating`);
  const [listEmpty, helpEmpty] = pairs(["xm", "list"], ["xm", "--help"]);
  const t0 = performance.now();
  for (let i = 1; i <= domains; i++) {
    await unixJson(socket, "POST", "/domains", { config: { name: `bench${i}`, kernel: "sim:idle", memory: 16 } }, 60_000);
  }
  console.log(`created ${domains} sim:idle guests of 16 MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const lines = spawnSync(bin, ["xm", "list"], { env, encoding: "utf8" }).stdout.trim().split("\n").length;
  if (lines !== domains + 2) throw new Error(`xm list printed ${lines} lines, expected ${domains + 2}`);
  const [listFull, helpFull] = pairs(["xm", "list"], ["xm", "--help"]);
  row(`xm list, ${domains} running domains`, listFull, "xm --help", helpFull);
  row("xm list, Domain-0 only", listEmpty, "xm --help", helpEmpty);
  console.log(`per domain: ${((listFull - listEmpty) / domains).toFixed(2)} ms`);
} finally {
  for (const pid of pidsToKill(xendPid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
}
