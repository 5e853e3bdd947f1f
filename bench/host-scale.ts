/**
 * Benchmark (not a test) of issue 16's rows 4–6 on the real daemon and real guest runners, each
 * next to a baseline measured in the same run:
 *
 *   row 4  a runner's memory (1 vCPU, 16 MiB `sim:idle`): RSS minus the guest memory it really
 *          holds (the pages the guest populated, as its runner counts them: an idle guest touches
 *          few of its 16 MiB, so subtracting all 16 would flatter the runner), next to a bare idle
 *          `bun` process; and its private memory (anonymous + private dirty, smaps_rollup) next
 *          to the bare bun's                                                goal ≤ 1.3×, private ≤ 8 MiB
 *          File-backed pages of the binary are shared by xend and every runner; the private
 *          figure is what each further guest adds.
 *   row 5  legacy HTTP `GET /xend/domain?detail=1` with 20 domains, requests/s, next to
 *          `GET /xend/` (a route that does no domain work) on the same server     goal ≥ 0.5
 *   row 6  N sim guests of 16 MiB (default 100): creating them (8 at a time), `xm list`,
 *          `xm top -b -i 1`, the legacy detail list, and a kill -9 + restart of xend re-attaching
 *          them all; `xm list` next to `xm list` with Domain-0 only                 goal ≤ 1.5×
 *
 *   node --import tsx bench/host-scale.ts [--guests 100] [--seconds 3] [--runs 7]   (XVM_BIN: the binary)
 *
 * Every process started is killed by pid at the end (xend, the guests' runners, the bare bun).
 */
import { spawn, spawnSync } from "node:child_process";
import { Agent, request } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "node:net";
import { unixJson } from "../src/runtime/http-client.ts";
import { FrameDecoder, encodeFrame } from "../src/hypervisor/sim/framing.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bin = resolve(process.env.XVM_BIN ?? join(repo, "dist/xvm"));
const bun = join(repo, "node_modules/.bin/bun");
const GUESTS = Number(opt("--guests", "100"));
const SECONDS = Number(opt("--seconds", "3"));
const RUNS = Number(opt("--runs", "7"));
const PARALLEL = 8;

const root = mkdtempSync(join(tmpdir(), "xvm-bench-scale-"));
const env = { ...process.env, XVM_ROOT: root, TZ: "UTC" };
const control = join(root, "var/run/xend/control.sock");
const legacy = join(root, "var/lib/xend/xend-socket");
const started: number[] = [];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
const line = (label: string, value: string, base: string, ratio: number, goal: string) =>
  console.log(`${label.padEnd(44)} ${value.padStart(12)} | baseline ${base.padStart(12)} | ratio ${ratio.toFixed(2).padStart(5)} | goal ${goal}`);

function status(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}
/**
 * What this process alone holds: its private dirty pages (smaps_rollup: its heaps, stacks, guest
 * memory, written data). Not Private_Clean: a bare bun is the only process mapping its executable,
 * so all of its code pages count as private clean there, while the runner's are shared with xend
 * and the other runners.
 */
function privateKiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const get = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return get("Private_Dirty");
}

/** The guest memory a runner holds (pages its guest populated), from the runner's `stats`. */
function populatedKiB(domid: number): Promise<number> {
  return new Promise((resolveStats, reject) => {
    const socket = connect(join(root, "var/run/xend/domains", String(domid), "runner.sock"));
    const decoder = new FrameDecoder();
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        socket.destroy();
        const result = frame.header.result as { populatedBytes?: number } | undefined;
        if (!frame.header.ok || typeof result?.populatedBytes !== "number") reject(new Error(`runner stats: ${JSON.stringify(frame.header)}`));
        else resolveStats(result.populatedBytes / 1024);
      }
    });
    socket.write(encodeFrame({ id: 1, cmd: "stats", args: {} }));
  });
}

/** A second root whose xend has no guests: `xm list` with Domain-0 only, timed beside the other. */
const emptyRoot = mkdtempSync(join(tmpdir(), "xvm-bench-scale-empty-"));
const emptyEnv = { ...process.env, XVM_ROOT: emptyRoot, TZ: "UTC" };

function xm(...args: string[]): { ms: number; out: string } {
  return xmIn(env, ...args);
}
function xmIn(where: NodeJS.ProcessEnv, ...args: string[]): { ms: number; out: string } {
  const t0 = performance.now();
  const r = spawnSync(bin, ["xm", ...args], { env: where, encoding: "utf8", timeout: 120_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`xm ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { ms, out: r.stdout };
}
function timedMedian(args: string[]): number {
  xm(...args);
  return median(Array.from({ length: RUNS }, () => xm(...args).ms));
}

/**
 * Medians of `xm <args>` here and of `xm list` on the root with Domain-0 only, run alternately, so
 * that load on the shared host (and the guests' own wake-ups) weigh on both alike.
 */
function pairedMedians(args: string[]): { figure: number; base: number } {
  xm(...args);
  xmIn(emptyEnv, "list");
  const figure: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    figure.push(xm(...args).ms);
    base.push(xmIn(emptyEnv, "list").ms);
  }
  return { figure: median(figure), base: median(base) };
}

async function startXend(where = env, socket = control): Promise<number> {
  const child = spawn(bin, ["xend"], { env: where, stdio: "ignore", detached: false });
  started.push(child.pid!);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await unixJson(socket, "GET", "/status", undefined, 2_000);
      return child.pid!;
    } catch {
      if (Date.now() > deadline) throw new Error("xend did not answer within 60 s");
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function runnerPids(): number[] {
  const dir = join(root, "var/run/xend/domains");
  const pids: number[] = [];
  try {
    for (const d of readdirSync(dir)) {
      try {
        pids.push(Number.parseInt(readFileSync(join(dir, d, "pid"), "utf8"), 10));
      } catch {
        // not written yet
      }
    }
  } catch {
    // no guests
  }
  return pids.filter((p) => p > 1);
}

async function createGuests(from: number, to: number): Promise<number> {
  const t0 = performance.now();
  let next = from;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next <= to) {
      const i = next++;
      await unixJson(control, "POST", "/domains", { config: { name: `g${i}`, kernel: "sim:idle", memory: 16 } }, 120_000);
    }
  }));
  return performance.now() - t0;
}

/** CPU time (user + system) the process has used, ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** xend's CPU per request during the last throughput() run, ms (robust to a loaded host). */
let lastCpuPerRequest = 0;

/** Requests/s of `path` on the legacy socket: 16 keep-alive clients for SECONDS. */
async function throughput(path: string, pid: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const get = () => new Promise<void>((resolveDone, reject) => {
    const req = request({ socketPath: legacy, path, agent, headers: { accept: "application/sxp" } }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolveDone() : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
  const load = async (seconds: number): Promise<number> => {
    let n = 0;
    const end = performance.now() + seconds * 1000;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (performance.now() < end) {
        await get();
        n++;
      }
    }));
    return n;
  };
  // Steady state: a second of the same load first, so that the JIT has compiled the route (its
  // compiler threads' CPU would otherwise count against whichever route is measured cold).
  await load(1);
  const cpu0 = cpuMs(pid);
  const count = await load(SECONDS);
  agent.destroy();
  lastCpuPerRequest = (cpuMs(pid) - cpu0) / count;
  return count / SECONDS;
}

let bare: number | undefined;
try {
  mkdirSync(join(root, "etc/xen"), { recursive: true });
  writeFileSync(join(root, "etc/xen/.keep"), "");
  // Both roots without the relocation server: no TCP port taken on a shared machine, and two
  // daemons on one host would want the same one.
  for (const where of [env, emptyEnv]) {
    for (const args of [["svccfg", "-s", "xend", "setprop", "config/xend-relocation-server", "=", "false"], ["svccfg", "-s", "xend:default", "refresh"]]) {
      const r = spawnSync(bin, args, { env: where, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`xvm ${args.join(" ")}: ${r.stderr}`);
    }
  }
  console.log(`binary ${bin}; ${GUESTS} guests; medians of ${RUNS} runs; ${SECONDS} s per throughput figure`);
  let xend = await startXend();
  const dom0List = timedMedian(["list"]);

  // Row 4: one runner next to a bare bun, measured at the same moment.
  await createGuests(1, 1);
  const bareChild = spawn(bun, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  bare = bareChild.pid!;
  await new Promise((r) => setTimeout(r, 1500)); // both settle (bench, not a test)
  const runner = runnerPids()[0]!;
  const guestKiB = await populatedKiB(1);
  const runnerRss = status(runner, "VmRSS") - guestKiB;
  const bareRss = status(bare, "VmRSS");
  const runnerPrivate = privateKiB(runner) - guestKiB;
  line(`runner RSS minus guest memory (${mib(guestKiB)})`, mib(runnerRss), mib(bareRss), runnerRss / bareRss, `≤ 1.3 ${runnerRss / bareRss <= 1.3 ? "met" : "MISSED"}`);
  line("runner private memory minus guest memory", mib(runnerPrivate), mib(privateKiB(bare)), runnerPrivate / privateKiB(bare), `≤ 8 MiB ${runnerPrivate <= 8 * 1024 ? "met" : "MISSED"}`);

  // Row 5: the legacy detail list with 20 domains against a route that does no domain work.
  await createGuests(2, 20);
  const trivial = await throughput("/xend/", xend);
  const trivialCpu = lastCpuPerRequest;
  const detail = await throughput("/xend/domain?detail=1", xend);
  const detailCpu = lastCpuPerRequest;
  line("legacy GET /xend/domain?detail=1, 20 domains", `${detail.toFixed(0)} req/s`, `${trivial.toFixed(0)} req/s`, detail / trivial, `≥ 0.5 ${detail / trivial >= 0.5 ? "met" : "MISSED"}`);
  // On a loaded host the rate above is the scheduler's; xend's CPU per request is its own cost.
  line("  xend CPU per request (rate it allows)", `${(1000 / detailCpu).toFixed(0)} req/s`, `${(1000 / trivialCpu).toFixed(0)} req/s`, trivialCpu / detailCpu, `≥ 0.5 ${trivialCpu / detailCpu >= 0.5 ? "met" : "MISSED"} (${detailCpu.toFixed(2)} vs ${trivialCpu.toFixed(2)} ms)`);

  // Row 6: the rest of the guests, then every listing, then a restart under all of them.
  const createMs = await createGuests(21, GUESTS);
  console.log(`created guests 21..${GUESTS} (${PARALLEL} at a time) in ${(createMs / 1000).toFixed(1)} s (${(createMs / (GUESTS - 20)).toFixed(0)} ms per guest)`);
  const rows = xm("list").out.trim().split("\n").length;
  if (rows !== GUESTS + 2) throw new Error(`xm list printed ${rows} lines, expected ${GUESTS + 2}`);
  // The Domain-0-only baseline on a second, empty root, timed alternately with the full list.
  await startXend(emptyEnv, join(emptyRoot, "var/run/xend/control.sock"));
  const full = pairedMedians(["list"]);
  console.log(`xm list, Domain-0 only: ${dom0List.toFixed(0)} ms before the guests were created, ${full.base.toFixed(0)} ms beside them (the baseline)`);
  line(`xm list, ${GUESTS} guests`, `${full.figure.toFixed(0)} ms`, `${full.base.toFixed(0)} ms`, full.figure / full.base, `≤ 1.5 (Domain-0 only) ${full.figure / full.base <= 1.5 ? "met" : "MISSED"}`);
  try {
    const top = pairedMedians(["top", "-b", "-i", "1"]);
    line(`xm top -b -i 1, ${GUESTS} guests`, `${top.figure.toFixed(0)} ms`, `${top.base.toFixed(0)} ms`, top.figure / top.base, "(timed, next to xm list with Domain-0 only)");
  } catch (error) {
    console.log(`xm top -b -i 1: not measured (${(error as Error).message.split("\n")[0]})`);
  }
  const legacyList = await throughput("/xend/domain?detail=1", xend);
  console.log(`legacy detail list, ${GUESTS} guests: ${legacyList.toFixed(0)} req/s (with 20: ${detail.toFixed(0)} req/s)`);
  process.kill(xend, "SIGKILL");
  const t0 = performance.now();
  xend = await startXend();
  for (;;) {
    const listed = xm("list").out.trim().split("\n").length - 2;
    if (listed >= GUESTS) break;
    if (performance.now() - t0 > 120_000) throw new Error(`only ${listed} guests re-attached after 120 s`);
  }
  const reattach = performance.now() - t0;
  console.log(`kill -9 xend, restart, all ${GUESTS} guests listed again: ${(reattach / 1000).toFixed(1)} s`);
  line("xend RSS with all guests", mib(status(xend, "VmRSS")), mib(bareRss), status(xend, "VmRSS") / bareRss, "(measured)");
} finally {
  for (const pid of [...started, ...runnerPids(), ...(bare ? [bare] : [])]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(emptyRoot, { recursive: true, force: true });
}
