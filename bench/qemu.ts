/**
 * The qemu driver's figures (TCG), each next to a baseline measured in the same run:
 *
 *   create-to-init-ready through `xm create`       vs  the same QEMU command line started by hand
 *                                                      (spawn, QMP cont, console log says init ready)
 *   xm dump-core of a 256 MiB guest                 vs  dump-guest-memory issued by hand over QMP
 *   xm migrate --live, 256 MiB guest, 144 MiB random data, between two xend hosts (runs × back and forth)
 *                                                   vs  QEMU-to-QEMU direct TCP migration of the same guest (runs × hops)
 *                                                      total time two ways: the whole job on a wall clock (xm
 *                                                      migrate from start to exit vs by hand: start the
 *                                                      destination QEMU, migrate, cont it, quit the source)
 *                                                      and the stream alone
 *                                                      (QEMU's own total-time, through xvm and direct);
 *                                                      downtime both ways as xm reports it: the guest stopped at
 *                                                      the source (QEMU's STOP) -> running at the destination
 *   xend's RSS per qemu guest                       vs  the 5 MiB goal
 *
 * Goals (issue 14): create ≤ 1.1, dump ≤ 1.1, migration total ≤ 1.1 and downtime ≤ 1.0, ≤ 5 MiB per guest.
 * Needs qemu-system-x86_64 and the test guest (examples/qemu/build-guest.sh; $XVM_QEMU_GUEST_DIR).
 * Usage: node --import tsx bench/qemu.ts [--runs 3] [--bin dist/xvm] [--parts create,dump,migrate] [--verbose]
 * (XVM_QEMU_MIGRATION_RELAY=1 makes the xends relay the stream as they did before; XEND_STDERR=1
 * shows their standard error.)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GuestSpec } from "../src/hypervisor/driver.ts";
import { buildCommandLine, CONSOLE_LOG, CONSOLE_SOCKET, QMP_SOCKET } from "../src/hypervisor/qemu/command-line.ts";
import { QmpClient, type QmpEvent } from "../src/hypervisor/qemu/qmp.ts";
import { unixJson } from "../src/runtime/http-client.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bin = resolve(opt("--bin", process.env.XVM_BIN ?? join(repo, "dist/xvm")));
const runs = Number(opt("--runs", "3"));
const parts = opt("--parts", "create,dump,migrate").split(",");
/** Hosts that migrate to each other share one relocation key (etc/xen/relocation.key, 0600). */
const relocationKey = randomBytes(32).toString("hex");
const guestDir = process.env.XVM_QEMU_GUEST_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "xvm", "qemu-guest");
const kernel = join(guestDir, "vmlinuz");
const initrd = join(guestDir, "initrd.img");
const READY = "xvm-guest: init ready";
const work = mkdtempSync(join(tmpdir(), "xvm-bench-qemu-"));
const pids: number[] = [];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function row(label: string, value: number, unit: string, baseLabel: string, base: number, goal: string): void {
  console.log(`${label.padEnd(40)} ${value.toFixed(1).padStart(8)} ${unit.padEnd(4)} | ${baseLabel.padEnd(34)} ${base.toFixed(1).padStart(8)} ${unit.padEnd(4)} | ratio ${(value / base).toFixed(2)} (goal ${goal})`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 180_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const fileHas = (path: string, text: string) => existsSync(path) && readFileSync(path, "utf8").includes(text);

// ---- xend hosts ----------------------------------------------------------------------------

interface Host {
  root: string;
  xend: ChildProcess;
  port: number;
  xm(...args: string[]): string;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
}

let nextPort = 18500 + Math.floor(Math.random() * 500);

async function startHost(name: string): Promise<Host> {
  const root = join(work, name);
  mkdirSync(join(root, "etc/xen"), { recursive: true });
  writeFileSync(join(root, "etc/xen/relocation.key"), `${relocationKey}\n`, { mode: 0o600 });
  const port = nextPort++;
  const env = { ...process.env, XVM_ROOT: root };
  const set = (k: string, v: string) => spawnSync(bin, ["svccfg", "-s", "xend", "setprop", `config/${k}`, "=", v], { env });
  for (const [k, v] of Object.entries({ hypervisor: "qemu", "qemu-accel": "tcg", "enable-dump": "false", "xend-relocation-port": String(port), "xend-relocation-paths-allow": guestDir })) set(k, v);
  spawnSync(bin, ["svccfg", "-s", "xend:default", "refresh"], { env });
  const xend = spawn(bin, ["xend"], { env, stdio: ["ignore", "ignore", process.env.XEND_STDERR ? "inherit" : "ignore"] });
  pids.push(xend.pid!);
  const socket = join(root, "var/run/xend/control.sock");
  await until(async () => existsSync(socket) && (await unixJson(socket, "GET", "/status").then(() => true, () => false)), "xend", 30_000, 50);
  return {
    root, xend, port,
    xm: (...args: string[]) => {
      const r = spawnSync(bin, ["xm", ...args], { env, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`xm ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    },
    api: <T>(method: string, path: string, body?: unknown) => unixJson<T>(socket, method, path, body, 120_000),
  };
}

function cfg(h: Host, name: string, mib: number): string {
  const path = join(h.root, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nkernel = "${kernel}"\nramdisk = "${initrd}"\nextra = "quiet"\nmemory = ${mib}\n`);
  return path;
}

async function domid(h: Host, name: string): Promise<number> {
  return (await h.api<{ domid: number }>("GET", `/domains/${name}`)).domid;
}

async function typeInto(h: Host, name: string, command: string, marker: string): Promise<void> {
  await h.api("POST", `/domains/${name}/console`, { data: `${command}\n` });
  await until(async () => (await h.api<{ text: string }>("GET", `/domains/${name}/console`)).text.includes(marker), marker, 300_000, 100);
}

// ---- QEMU by hand ----------------------------------------------------------------------------

interface Hand {
  dir: string;
  child: ChildProcess;
  qmp: QmpClient;
  /** Epoch ms of QEMU's last STOP event (its own timestamp). */
  stoppedAt?: number;
  console?: Socket;
}

function handArgv(dir: string, mib: number, extra: string[] = []): string[] {
  const spec: GuestSpec = {
    domid: 1, name: "hand", uuid: "33333333-0000-4000-8000-000000000001", memoryKiB: mib * 1024, maxMemKiB: mib * 1024,
    vcpus: 1, maxVcpus: 1, kernel, extra: "quiet", affinity: [], paused: false,
    meta: { config: { name: "hand", kernel, ramdisk: initrd, extra: "quiet", vif: [], disk: [] } },
  };
  return [...buildCommandLine(spec, dir, { binary: "qemu-system-x86_64", accel: "tcg" }).argv, ...extra];
}

async function startHand(name: string, mib: number, extra: string[] = []): Promise<Hand> {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const child = spawn("qemu-system-x86_64", handArgv(dir, mib, extra), { stdio: "ignore", detached: true });
  pids.push(child.pid!);
  let qmp: QmpClient | undefined;
  const hand: Partial<Hand> = {};
  const onEvent = (e: QmpEvent) => {
    if (e.event === "STOP" && e.timestamp) hand.stoppedAt = e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000;
  };
  await until(async () => {
    if (!existsSync(join(dir, QMP_SOCKET))) return false;
    qmp = await QmpClient.connect(join(dir, QMP_SOCKET), onEvent).catch(() => undefined);
    return qmp !== undefined;
  }, "QMP", 30_000, 5);
  const console = createConnection({ path: join(dir, CONSOLE_SOCKET) });
  console.on("error", () => {});
  console.on("data", () => {});
  return Object.assign(hand, { dir, child, qmp: qmp!, console }) as Hand;
}

async function handType(h: Hand, command: string, marker: string): Promise<void> {
  h.console!.write(`${command}\n`);
  await until(() => fileHas(join(h.dir, CONSOLE_LOG), marker), marker, 300_000, 100);
}

function stopHand(h: Hand): void {
  h.qmp.close();
  h.console?.destroy();
  try {
    process.kill(h.child.pid!, "SIGKILL");
  } catch {
    // gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);
}

// ---- the figures ---------------------------------------------------------------------------

async function main(): Promise<void> {
  if (spawnSync("qemu-system-x86_64", ["--version"]).status !== 0) throw new Error("qemu-system-x86_64 is not installed");
  if (!existsSync(kernel)) throw new Error(`no test guest in ${guestDir}: run examples/qemu/build-guest.sh`);
  console.log(`qemu bench (TCG): xend = ${bin}, ${runs} runs, medians`);
  const a = await startHost("a");

  if (parts.includes("create")) await createPart(a);
  if (parts.includes("dump")) await dumpPart(a);
  if (parts.includes("migrate")) await migratePart(a);
}

async function createPart(a: Host): Promise<void> {
  const rss0 = rssKiB(a.xend.pid!);
  // create-to-init-ready, alternating xm create and by hand
  const viaXm: number[] = [];
  const byHand: number[] = [];
  for (let i = 0; i < runs; i++) {
    const path = cfg(a, `c${i}`, 128);
    let t0 = performance.now();
    a.xm("create", path);
    const d = await domid(a, `c${i}`);
    await until(() => fileHas(join(a.root, "var/run/xend/qemu", String(d), CONSOLE_LOG), READY), "init ready (xm)");
    viaXm.push(performance.now() - t0);

    t0 = performance.now();
    const h = await startHand(`hand${i}`, 128);
    await h.qmp.execute("cont");
    await until(() => fileHas(join(h.dir, CONSOLE_LOG), READY), "init ready (hand)");
    byHand.push(performance.now() - t0);
    stopHand(h);
  }
  row("create to init ready (xm create)", median(viaXm), "ms", "same QEMU command line by hand", median(byHand), "≤ 1.1");
  const rss3 = rssKiB(a.xend.pid!);
  row(`xend RSS per qemu guest (${runs} guests)`, (rss3 - rss0) / runs / 1024, "MiB", "goal", 5, "≤ 1.0");
  for (let i = 0; i < runs; i++) a.xm("destroy", `c${i}`);
}

async function dumpPart(a: Host): Promise<void> {
  // dumps of a 256 MiB guest
  const dx = cfg(a, "d1", 256);
  a.xm("create", dx);
  const hd = await startHand("handdump", 256);
  await hd.qmp.execute("cont");
  await until(async () => (await a.api<{ text: string }>("GET", "/domains/d1/console")).text.includes(READY) && fileHas(join(hd.dir, CONSOLE_LOG), READY), "dump guests");
  const dumpXm: number[] = [];
  const dumpHand: number[] = [];
  for (let i = 0; i < runs; i++) {
    const f1 = join(work, `xm${i}.core`);
    let t0 = performance.now();
    a.xm("dump-core", "d1", f1);
    dumpXm.push(performance.now() - t0);
    const f2 = join(work, `hand${i}.core`);
    t0 = performance.now();
    await hd.qmp.execute("dump-guest-memory", { paging: false, protocol: `file:${f2}`, detach: true, format: "elf" });
    await until(async () => (await hd.qmp.execute<{ status: string }>("query-dump")).status === "completed", "hand dump", 120_000, 5);
    dumpHand.push(performance.now() - t0);
    if (statSync(f1).size !== statSync(f2).size) console.log(`(dump sizes differ: ${statSync(f1).size} vs ${statSync(f2).size})`);
    rmSync(f1, { force: true });
    rmSync(f2, { force: true });
  }
  row("xm dump-core, 256 MiB guest", median(dumpXm), "ms", "dump-guest-memory by hand", median(dumpHand), "≤ 1.1");
  a.xm("destroy", "d1");
  stopHand(hd);
}

async function migratePart(a: Host): Promise<void> {
  // Live migration of a 256 MiB guest holding 144 MiB of random data, `runs` times each way:
  // xm migrate back and forth between hosts a and b; the direct baseline hops the hand-started
  // guest to a new QEMU each time. One migration's figures swing widely on a loaded machine.
  const b = await startHost("b");
  a.xm("create", cfg(a, "m1", 256));
  let cur = await startHand("msrc", 256);
  await cur.qmp.execute("cont");
  const fill = "dd if=/dev/urandom of=/tmp/fill bs=1M count=144 2>/dev/null; echo fill-$((1+1))";
  await until(async () => (await a.api<{ text: string }>("GET", "/domains/m1/console")).text.includes(READY) && fileHas(join(cur.dir, CONSOLE_LOG), READY), "migration guests");
  await Promise.all([typeInto(a, "m1", fill, "fill-2"), handType(cur, fill, "fill-2")]);

  const xmTotal: number[] = [];
  const xmDown: number[] = [];
  const qemuPart: number[] = [];
  const relayMbps: number[] = [];
  const directTotal: number[] = [];
  const directDown: number[] = [];
  const directMbps: number[] = [];
  const xmWall: number[] = [];
  const qemuDown: number[] = [];
  const xmQemuDown: number[] = [];
  const phases: { setup: number; stream: number; confirm: number }[] = [];
  const handWall: number[] = [];
  let [from, to] = [a, b];
  for (let i = 0; i < runs; i++) {
    const w0 = performance.now();
    const r = spawnSync(bin, ["xm", "migrate", "--live", "-p", String(to.port), "m1", "127.0.0.1"], { env: { ...process.env, XVM_ROOT: from.root }, encoding: "utf8" });
    xmWall.push(performance.now() - w0);
    if (r.status !== 0) throw new Error(`xm migrate: ${r.stderr}`);
    if (argv.includes("--verbose")) console.log(r.stdout.split("\n").filter((l) => !l.startsWith("Migrating ")).join("\n"));
    xmTotal.push(Number(/^total time: (\d+) ms$/m.exec(r.stdout)?.[1]));
    xmDown.push(Number(/^downtime: (\d+) ms$/m.exec(r.stdout)?.[1]));
    // Where xm's end-to-end time went: QEMU's own migration (its query-migrate total-time, in the
    // last progress report) and the rest (handshake, destination QEMU start, confirmation).
    type Rec = { direction: string; progress?: { totalTimeMs: number; throughputMbps: number; downtimeMs: number }; stats?: { phasesMs?: { setup: number; stream: number; confirm: number } } };
    const rec = (await from.api<{ migrations: Rec[] }>("GET", "/plugins/relocation/migrations")).migrations.filter((m) => m.direction === "out").at(-1);
    qemuPart.push(rec?.progress?.totalTimeMs ?? NaN);
    relayMbps.push(rec?.progress?.throughputMbps ?? NaN);
    xmQemuDown.push(rec?.progress?.downtimeMs ?? NaN);
    phases.push(rec?.stats?.phasesMs ?? { setup: NaN, stream: NaN, confirm: NaN });
    [from, to] = [to, from];

    const port = nextPort++;
    const h0 = performance.now();
    const dst = await startHand(`mdst${i}`, 256, ["-incoming", `tcp:127.0.0.1:${port}`]);
    await cur.qmp.execute("migrate-set-capabilities", { capabilities: [{ capability: "auto-converge", state: true }] });
    await cur.qmp.execute("migrate-set-parameters", { "downtime-limit": 300, "max-bandwidth": 64 * 1024 ** 3 });
    await cur.qmp.execute("migrate", { uri: `tcp:127.0.0.1:${port}` });
    let q: { status: string; "total-time"?: number; downtime?: number; ram?: { mbps?: number } } = { status: "setup" };
    await until(async () => {
      q = await cur.qmp.execute("query-migrate");
      return q.status === "completed" && q["total-time"] !== undefined && q.downtime !== undefined;
    }, "direct migration", 300_000, 10);
    // The destination waits stopped (-S) once loaded: continue it as xend does.
    await until(async () => (await dst.qmp.execute<{ status: string }>("query-status")).status !== "inmigrate", "destination loaded", 60_000, 2);
    await dst.qmp.execute("cont");
    // As xm counts it: the guest stopped at the source (QEMU's STOP event) to running at the
    // destination (cont answered), the destination's loading of the last pages included.
    directDown.push(performance.timeOrigin + performance.now() - cur.stoppedAt!);
    // The job ends, as xm migrate's does, with the source's copy gone: quit it and see it exit.
    await cur.qmp.execute("quit").catch(() => {});
    await until(() => !alive(cur.child.pid!), "the source QEMU to exit", 10_000, 1);
    handWall.push(performance.now() - h0);
    directTotal.push(q["total-time"]!);
    qemuDown.push(q.downtime!);
    directMbps.push(q.ram?.mbps ?? NaN);
    stopHand(cur);
    cur = dst;
  }
  // Total time, two ways: the whole job (a user's wall clock: xm migrate from its start to its
  // exit, against starting the destination QEMU by hand, migrating, and continuing it there), and
  // the stream alone (QEMU's own total-time at the source, through xvm and direct).
  row(`xm migrate --live wall, 256 MiB/144 MiB`, median(xmWall), "ms", "by hand: dest QEMU, migrate, cont, quit", median(handWall), "≤ 1.1");
  row(`  its stream (QEMU total-time)`, median(qemuPart), "ms", "QEMU-to-QEMU TCP (query-migrate)", median(directTotal), "≤ 1.1");
  row(`  xm's own total time`, median(xmTotal), "ms", "QEMU-to-QEMU TCP (query-migrate)", median(directTotal), "—");
  row("xm migrate --live downtime", median(xmDown), "ms", "by hand: source STOP to dest cont", median(directDown), "≤ 1.0");
  const q = median(qemuPart);
  console.log(`  (xm migrate: QEMU's own total-time ${q} ms at ${median(relayMbps).toFixed(0)} Mbit/s, ` +
    `the rest of xm's total ${median(xmTotal) - q} ms: handshake, destination QEMU start, confirmation; direct TCP ran at ${median(directMbps).toFixed(0)} Mbit/s;` +
    ` stream ${process.env.XVM_QEMU_MIGRATION_RELAY === "1" ? "relayed by xend (XVM_QEMU_MIGRATION_RELAY=1)" : "handed to QEMU"})`);
  const ph = (k: "setup" | "stream" | "confirm") => median(phases.map((p) => p[k])).toFixed(0);
  console.log(`  (xm's total time, medians: setup ${ph("setup")} ms (handshake, config, destination domain and QEMU start), stream ${ph("stream")} ms, ` +
    `confirm ${ph("confirm")} ms; outside it: xm's start, the source's copy destroyed, xm's exit: wall - total ${(median(xmWall) - median(xmTotal)).toFixed(0)} ms)`);
  console.log(`  (QEMU's own downtime figure, which leaves out the destination's loading of the last pages: through xvm ${xmQemuDown.join(", ")} ms; direct ${qemuDown.join(", ")} ms)`);
  console.log(`  (each run, xm wall/by hand: ${xmWall.map((t, i) => `${t.toFixed(0)}/${handWall[i]!.toFixed(0)}`).join(", ")} ms)`);
  console.log(`  (each run, xm total/downtime: ${xmTotal.map((t, i) => `${t}/${xmDown[i]}`).join(", ")} ms; direct: ${directTotal.map((t, i) => `${t}/${directDown[i]!.toFixed(0)}`).join(", ")} ms)`);
  stopHand(cur);
  from.xm("destroy", "m1");
}

main()
  .catch((error) => {
    console.error(`qemu bench: ${(error as Error).message}`);
    process.exitCode = 1;
  })
  .finally(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    // QEMUs xend started die with their sockets' folder; kill any left by pid file.
    spawnSync("sh", ["-c", `for f in ${work}/*/var/run/xend/qemu/*/guest.json; do [ -f "$f" ] && kill -9 $(sed -n 's/.*"pid": \\([0-9]*\\).*/\\1/p' "$f") 2>/dev/null; done; true`]);
    rmSync(work, { recursive: true, force: true });
  });
