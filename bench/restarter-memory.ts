/**
 * Benchmark (not a test): how long `svcadm enable -s xend` takes to bring xend online on a fresh
 * root, and the resident memory of the restarter and of an idle daemon, each next to a bare
 * `bun -e 'setInterval(()=>{},1000)'` measured in the same run (and, for the time, next to the
 * start-up of the bare bun and of `xvm --version`). Issue 16, row 3: goal ≤ 1.5× for both.
 *
 *   node --import tsx bench/restarter-memory.ts [--runs N]      (XVM_BIN picks the binary; default dist/xvm)
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = resolve(process.env.XVM_BIN ?? join(repo, "dist", "xvm"));
const bun = join(repo, "node_modules", ".bin", "bun");
const runsAt = process.argv.indexOf("--runs");
const RUNS = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 5;

if (!existsSync(bin)) {
  console.error(`${bin} is missing: npm run build first`);
  process.exit(1);
}

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

function privateDirtyKiB(pid: number): number {
  const m = /^Private_Dirty:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Waits (polling) until `check` holds, at most `ms`. */
async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: "ignore" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  return performance.now() - t0;
}

const SETTLE_MS = 1_000;
const enableMs: number[] = [];
const restarterRss: number[] = [];
const daemonRss: number[] = [];
const bareRss: number[] = [];
const restarterPriv: number[] = [];
const daemonPriv: number[] = [];
const barePriv: number[] = [];
const bareStartMs: number[] = [];
const versionMs: number[] = [];

for (let i = 0; i < RUNS; i++) {
  const root = mkdtempSync(join(tmpdir(), "xvm-bench-restarter-"));
  const env = { ...process.env, XVM_ROOT: root };
  const pids: number[] = [];
  try {
    bareStartMs.push(timed(bun, ["-e", "0"]));
    versionMs.push(timed(bin, ["--version"]));
    enableMs.push(timed(bin, ["svcadm", "enable", "-s", "xend"], env));
    const restarter = Number(readFileSync(join(root, "var/run/svc/restarter.pid"), "utf8"));
    const daemon = Number(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8"));
    pids.push(restarter, daemon);
    const bare = spawn(bun, ["-e", "setInterval(()=>{},1000)"], { stdio: "ignore" });
    pids.push(bare.pid!);
    // Let all three settle (the daemon finishes its start-up work, the bare process its own).
    await until(() => false, SETTLE_MS).catch(() => undefined);
    restarterRss.push(rssKiB(restarter));
    daemonRss.push(rssKiB(daemon));
    bareRss.push(rssKiB(bare.pid!));
    restarterPriv.push(privateDirtyKiB(restarter));
    daemonPriv.push(privateDirtyKiB(daemon));
    barePriv.push(privateDirtyKiB(bare.pid!));
  } finally {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
}

const mib = (k: number) => `${(k / 1024).toFixed(1)} MiB`;
const bareR = median(bareRss);
console.log(`restarter-memory: ${RUNS} runs, medians (binary ${bin})`);
console.log(`  svcadm enable -s xend -> online  ${median(enableMs).toFixed(0)} ms   (bare bun start+exit ${median(bareStartMs).toFixed(0)} ms, xvm --version ${median(versionMs).toFixed(0)} ms)`);
const verdict = (ratio: number) => `goal <= 1.5x ${ratio <= 1.5 ? "met" : "MISSED"}`;
const rRatio = median(restarterRss) / bareR;
const dRatio = median(daemonRss) / bareR;
console.log(`  restarter RSS                    ${mib(median(restarterRss))}   (bare bun ${mib(bareR)}; ratio ${rRatio.toFixed(2)}x; ${verdict(rRatio)})`);
console.log(`  idle xend RSS                    ${mib(median(daemonRss))}   (bare bun ${mib(bareR)}; ratio ${dRatio.toFixed(2)}x; ${verdict(dRatio)})`);
console.log(`  private dirty: restarter ${mib(median(restarterPriv))}, xend ${mib(median(daemonPriv))}, bare bun ${mib(median(barePriv))} (code pages of the binary are shared by all three)`);
