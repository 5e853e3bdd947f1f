/**
 * The `qemu` hypervisor driver: one detached qemu-system-x86_64 per guest, in its own session,
 * controlled over QMP on a Unix socket in the guest's run directory (var/run/xend/qemu/<domid>,
 * 0700), with its serial console on a second socket whose output QEMU also logs. Guests outlive
 * xend: `list()` finds the run directories again, re-attaches QMP and the console, and rebuilds
 * each guest's state from `query-status` (events sent while nobody listened are lost).
 *
 * A QEMU that dies while attached becomes a `lost` event; one that died while no driver was
 * attached is reported once by `list()` (with `lost: true`) plus a `lost` event, then forgotten.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { XvmError, errorMessage } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { pidAlive } from "../../runtime/process.ts";
import type {
  DumpOptions, GuestDisk, GuestEvent, GuestInfo, GuestSpec, GuestVif, HypervisorDriver, IncomingMigration, IncomingOptions, MemoryDigest, MigrateOutOptions,
  MigrationEndpoint, MigrationStats, PhysInfo, RestoreOptions, SaveOptions, SavedState, SchedParams, ShutdownReason, VcpuInfo, VcpuState,
} from "../driver.ts";
import { PAGE_SIZE, SCHED_DEFAULTS } from "../driver.ts";
import { applySched, cpuController, removeSched } from "./cgroup.ts";
import { qemuOverheadKiB } from "./overhead.ts";
import { hostPhysInfo } from "../sim/hostinfo.ts";
import { resolveAccel, resolveUser, type Accel } from "./accel.ts";
import { CONSOLE_LOG, CONSOLE_SOCKET, QMP_SOCKET, buildCommandLine } from "./command-line.ts";
import { boundConsole, readConsole } from "./console-log.ts";
import { readGuestState, writeGuestState, type GuestState } from "./guest-state.ts";
import * as migration from "./migration.ts";
import { guestRamPath, isQemuOf, threadFacts } from "./procfs.ts";
import { QmpClient, QmpError, type QmpEvent } from "./qmp.ts";
import * as saves from "./save-restore.ts";
import { createTaps, removeTaps } from "./taps.ts";
import * as hotplug from "./hotplug.ts";
import { dumpGuestMemory } from "./dump.ts";
import { digestRam, readRamPages } from "./guest-ram.ts";

const run = promisify(execFile);

export interface QemuDriverOptions {
  paths: Paths;
  /** qemu-system-x86_64 to run (config/qemu-binary). */
  binary?: string;
  /** config/qemu-accel: auto | kvm | tcg. */
  accel?: string;
  /** config/qemu-user: "" = QEMU runs as xend's user; else a user name (xend must be root). */
  user?: string;
  /** How long QEMU may take to open its QMP socket (default 30 s). */
  startTimeoutMs?: number;
}

interface Attached {
  domid: number;
  pid: number;
  qmp: QmpClient;
  console?: Socket;
  /** Set when this driver ends QEMU (destroy): its going away is no loss. */
  ending: boolean;
}

interface StatusAnswer {
  status: string;
  running: boolean;
}

interface CpuFast {
  "cpu-index": number;
  "thread-id": number;
  props?: { "socket-id"?: number; "core-id"?: number; "thread-id"?: number };
}

interface Hotpluggable {
  type: string;
  props: { "socket-id"?: number; "core-id"?: number; "thread-id"?: number };
  "qom-path"?: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** QEMU's SHUTDOWN reasons to Xen's. */
function shutdownReason(reason: string): ShutdownReason | undefined {
  switch (reason) {
    case "guest-shutdown":
    case "host-qmp-system-powerdown":
      return "poweroff";
    case "guest-reset":
    case "host-qmp-system-reset":
      return "reboot";
    case "guest-panic":
      return "crash";
    default:
      // host-qmp-quit, host-signal, host-ui, …: xend (or someone) ended QEMU, not the guest.
      return undefined;
  }
}

export class QemuDriver implements HypervisorDriver {
  readonly name = "qemu";
  private readonly paths: Paths;
  private readonly binary: string;
  private readonly accel: Accel;
  /** config/qemu-user resolved: QEMU runs as this uid/gid (xend runs as root). */
  readonly user?: { uid: number; gid: number };
  private readonly startTimeoutMs: number;
  private readonly attached = new Map<number, Attached>();
  private readonly connecting = new Map<number, Promise<Attached>>();
  private readonly listeners = new Set<(event: GuestEvent) => void>();
  private readonly children = new Map<number, { child: ChildProcess; exit?: string }>();
  private readonly destroying = new Set<number>();
  private readonly creating = new Set<number>();
  private readonly reportedLost = new Set<number>();
  private readonly eventWatchers = new Map<number, Set<(event: QmpEvent) => void>>();
  private version?: { major: number; minor: number; micro: number };
  private closed = false;

  constructor(options: QemuDriverOptions) {
    this.paths = options.paths;
    this.binary = options.binary || "qemu-system-x86_64";
    this.accel = resolveAccel(options.accel ?? "auto");
    this.user = resolveUser(options.user ?? "");
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  get accelerator(): Accel {
    return this.accel;
  }

  get guestsDir(): string {
    return join(this.paths.runDir, "qemu");
  }

  dir(domid: number): string {
    return join(this.guestsDir, String(domid));
  }

  logFile(domid: number): string {
    return join(this.paths.xenLogDir, `qemu.${domid}.log`);
  }

  // ---- events ---------------------------------------------------------------------------------

  subscribe(listener: (event: GuestEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: GuestEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** QMP events of one guest as they come (migration watches STOP for its downtime). */
  watchEvents(domid: number, listener: (event: QmpEvent) => void): () => void {
    let set = this.eventWatchers.get(domid);
    if (!set) this.eventWatchers.set(domid, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.eventWatchers.get(domid) === set) this.eventWatchers.delete(domid);
    };
  }

  private onQmpEvent(domid: number, event: QmpEvent): void {
    for (const l of [...(this.eventWatchers.get(domid) ?? [])]) l(event);
    if (this.destroying.has(domid)) return;
    if (event.event === "SHUTDOWN") {
      const reason = shutdownReason(String(event.data?.reason ?? ""));
      if (!reason) return;
      this.updateState(domid, (s) => (s.stopped = reason));
      this.emit(reason === "crash" ? { type: "crashed", domid, detail: "the guest panicked" } : { type: "shutdown", domid, reason });
    } else if (event.event === "GUEST_PANICKED") {
      this.updateState(domid, (s) => (s.stopped = "crash"));
      this.emit({ type: "crashed", domid, detail: "the guest kernel panicked (pvpanic)" });
    }
  }

  private updateState(domid: number, change: (s: GuestState) => void): GuestState | undefined {
    const state = readGuestState(this.dir(domid));
    if (!state) return undefined;
    change(state);
    writeGuestState(this.dir(domid), state);
    return state;
  }

  // ---- connections --------------------------------------------------------------------------

  private async link(domid: number): Promise<Attached> {
    const open = this.attached.get(domid);
    if (open && !open.qmp.closed) return open;
    const inFlight = this.connecting.get(domid);
    if (inFlight) return inFlight;
    const attempt = this.attach(domid).finally(() => this.connecting.delete(domid));
    this.connecting.set(domid, attempt);
    return attempt;
  }

  private async attach(domid: number): Promise<Attached> {
    const dir = this.dir(domid);
    const state = readGuestState(dir);
    if (!state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    let qmp: QmpClient;
    try {
      qmp = await QmpClient.connect(join(dir, QMP_SOCKET), (e) => this.onQmpEvent(domid, e));
    } catch (error) {
      if (!isQemuOf(state.pid, dir)) {
        // A closed driver leaves the folder to the next one, which reports the guest lost.
        if (!this.closed) this.forgetLost(domid, `QEMU pid ${state.pid} is gone`);
        throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
      }
      throw new XvmError("QEMU_GONE", { domid, detail: `cannot connect to ${join(dir, QMP_SOCKET)}: ${errorMessage(error)}` });
    }
    const link: Attached = { domid, pid: state.pid, qmp, ending: false };
    qmp.onClosed(() => this.onClose(link));
    this.attached.set(domid, link);
    this.attachConsole(link);
    return link;
  }

  /** xend is the console socket's one client; it fans the output out as console events. */
  private attachConsole(link: Attached): void {
    const path = join(this.dir(link.domid), CONSOLE_SOCKET);
    const socket = createConnection({ path });
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    socket.on("data", (data: string) => {
      this.emit({ type: "console", domid: link.domid, data });
      boundConsole(join(this.dir(link.domid), CONSOLE_LOG));
    });
    socket.on("close", () => {
      if (link.console === socket) link.console = undefined;
    });
    link.console = socket;
  }

  private onClose(link: Attached): void {
    if (this.attached.get(link.domid) === link) this.attached.delete(link.domid);
    link.console?.destroy();
    if (this.closed || link.ending || this.destroying.has(link.domid)) return;
    void this.checkLost(link);
  }

  /** After QMP drops: a dead QEMU is a lost guest; a live one is re-attached. */
  private async checkLost(link: Attached): Promise<void> {
    const dir = this.dir(link.domid);
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      if (this.closed || this.destroying.has(link.domid)) return;
      if (!isQemuOf(link.pid, dir)) {
        const exit = this.children.get(link.domid)?.exit;
        this.forgetLost(link.domid, exit ? `QEMU pid ${link.pid} ${exit}` : `QEMU pid ${link.pid} is gone`);
        return;
      }
      try {
        await this.link(link.domid);
        return;
      } catch {
        await sleep(50);
      }
    }
  }

  private forgetLost(domid: number, detail: string): GuestState | undefined {
    const state = readGuestState(this.dir(domid));
    if (state) void removeTaps(state.taps).catch(() => {});
    rmSync(this.dir(domid), { recursive: true, force: true });
    this.children.delete(domid);
    if (state?.incoming) return state;
    if (!this.reportedLost.has(domid) && !this.creating.has(domid)) {
      this.reportedLost.add(domid);
      this.emit({ type: "lost", domid, detail });
    }
    return state;
  }

  isIncoming(domid: number): boolean {
    return readGuestState(this.dir(domid))?.incoming === true;
  }

  /** The incoming migration arrived and was committed: the guest is this host's now. */
  settleIncoming(domid: number): void {
    this.updateState(domid, (s) => delete s.incoming);
  }

  /** Any QMP command (other areas of the driver: migration). */
  command<T = unknown>(domid: number, command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    return this.qmp<T>(domid, command, args, timeoutMs);
  }

  /** A QMP command with a descriptor attached (migration hands QEMU its stream connection). */
  async commandWithFd<T = unknown>(domid: number, command: string, args: Record<string, unknown>, carried: Socket): Promise<T> {
    const link = await this.link(domid);
    return link.qmp.executeWithFd<T>(command, args, carried);
  }

  /** Whether this guest's QMP link can carry descriptors (runtime/fd-pass.ts). */
  async carriesFds(domid: number): Promise<boolean> {
    return (await this.link(domid)).qmp.carriesFds;
  }

  private async qmp<T = unknown>(domid: number, command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    const link = await this.link(domid);
    try {
      return await link.qmp.execute<T>(command, args, timeoutMs);
    } catch (error) {
      if (error instanceof QmpError) throw new XvmError("QEMU_COMMAND", { domid, cmd: command, detail: error.desc });
      throw new XvmError("QEMU_GONE", { domid, detail: errorMessage(error) });
    }
  }

  // ---- host -----------------------------------------------------------------------------------

  private async qemuVersion(): Promise<{ major: number; minor: number; micro: number }> {
    if (this.version) return this.version;
    try {
      const { stdout } = await run(this.binary, ["--version"], { timeout: 10_000 });
      const m = /version (\d+)\.(\d+)\.(\d+)/.exec(stdout);
      this.version = m ? { major: Number(m[1]), minor: Number(m[2]), micro: Number(m[3]) } : { major: 0, minor: 0, micro: 0 };
    } catch (error) {
      throw new XvmError("HYPERVISOR_UNAVAILABLE", { name: "qemu", detail: `cannot run ${this.binary}: ${errorMessage(error)}` });
    }
    return this.version;
  }

  /** QEMU's version as "major.minor.micro" (save files name the QEMU that wrote them). */
  async qemuVersionText(): Promise<string> {
    const v = await this.qemuVersion();
    return `${v.major}.${v.minor}.${v.micro}`;
  }

  /** Each QEMU's own memory, beyond the guest's RAM (overhead.ts). */
  guestOverheadKiB(maxVcpus: number): number {
    return qemuOverheadKiB(maxVcpus);
  }

  async physInfo(): Promise<PhysInfo> {
    const v = await this.qemuVersion();
    const guests = await this.list();
    const base = hostPhysInfo(guests.filter((g) => !g.lost).reduce((sum, g) => sum + g.targetKiB + qemuOverheadKiB(g.maxVcpus), 0));
    return {
      ...base,
      pageSize: PAGE_SIZE,
      hypervisor: { name: "qemu", major: v.major, minor: v.minor, extra: `.${v.micro}-${this.accel}`, caps: [`hvm-qemu-x86_64-${this.accel}`] },
    };
  }

  // ---- guests ---------------------------------------------------------------------------------

  async list(): Promise<GuestInfo[]> {
    let names: string[];
    try {
      names = readdirSync(this.guestsDir);
    } catch {
      return [];
    }
    const domids = names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
    const out = await Promise.all(domids.map((domid) => this.listOne(domid)));
    return out.filter((g): g is GuestInfo => g !== undefined);
  }

  private async listOne(domid: number): Promise<GuestInfo | undefined> {
    if (this.destroying.has(domid) || this.creating.has(domid)) return undefined;
    const dir = this.dir(domid);
    const state = readGuestState(dir);
    if (!state) {
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    if (state.incoming) {
      // A migration that was arriving when the previous xend went away: the source kept the guest.
      if (isQemuOf(state.pid, dir)) process.kill(state.pid, "SIGKILL");
      await removeTaps(state.taps).catch(() => {});
      removeSched(this.paths.root, domid, cpuController());
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    }
    if (!isQemuOf(state.pid, dir)) return this.lostInfo(domid, state);
    try {
      return await this.info(domid);
    } catch (error) {
      if (error instanceof XvmError && error.code === "DOMAIN_NOT_FOUND") return undefined;
      throw error;
    }
  }

  private lostInfo(domid: number, state: GuestState): GuestInfo {
    rmSync(this.dir(domid), { recursive: true, force: true });
    setTimeout(() => {
      void removeTaps(state.taps).catch(() => {});
      if (!this.reportedLost.has(domid)) {
        this.reportedLost.add(domid);
        this.emit({ type: "lost", domid, detail: `QEMU pid ${state.pid} died while xend was not running` });
      }
    }, 0);
    return {
      domid, name: state.name, uuid: state.uuid, running: false, blocked: false, paused: false, shutdown: false, crashed: true,
      dying: false, shutdownReason: "crash", memoryKiB: state.targetKiB, maxMemKiB: state.maxMemKiB, targetKiB: state.targetKiB,
      vcpus: [], maxVcpus: state.maxVcpus, cpuTimeNs: 0, startTime: state.startTime, meta: state.meta, lost: true,
    };
  }

  private validate(spec: GuestSpec): void {
    const bad = (detail: string): never => {
      throw new XvmError("DOMAIN_CONFIG", { detail });
    };
    if (!Number.isInteger(spec.domid) || spec.domid < 1) bad(`domid must be a positive integer (got ${spec.domid})`);
    if (!spec.name) bad("a domain needs a name");
    if (!Number.isInteger(spec.memoryKiB) || spec.memoryKiB < 16 * 1024) bad(`memory must be at least 16 MiB for a QEMU guest (got ${spec.memoryKiB} KiB)`);
    if (!Number.isInteger(spec.maxMemKiB) || spec.maxMemKiB < spec.memoryKiB) bad(`maxmem (${spec.maxMemKiB} KiB) must be at least memory (${spec.memoryKiB} KiB)`);
    if (!Number.isInteger(spec.maxVcpus) || spec.maxVcpus < 1 || spec.maxVcpus > 32) bad(`maxvcpus must be 1..32 (got ${spec.maxVcpus})`);
    if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > spec.maxVcpus) bad(`vcpus must be 1..${spec.maxVcpus} (got ${spec.vcpus})`);
  }

  async create(spec: GuestSpec): Promise<GuestInfo> {
    this.validate(spec);
    if (this.creating.has(spec.domid)) throw new XvmError("DOMAIN_EXISTS", { name: spec.name, domid: spec.domid });
    this.creating.add(spec.domid);
    try {
      return await this.launch(spec);
    } finally {
      this.creating.delete(spec.domid);
    }
  }

  private async launch(spec: GuestSpec): Promise<GuestInfo> {
    const dir = this.dir(spec.domid);
    const old = readGuestState(dir);
    if (old && isQemuOf(old.pid, dir)) throw new XvmError("DOMAIN_EXISTS", { name: old.name, domid: spec.domid });
    const cmd = buildCommandLine(spec, dir, { binary: this.binary, accel: this.accel });
    await this.qemuVersion();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.guestsDir, { recursive: true, mode: 0o700 });
    // QEMU as config/qemu-user must pass through to its own folder (search, not list).
    if (this.user) chmodSync(this.guestsDir, 0o711);
    mkdirSync(dir, { mode: 0o700 });
    // QEMU running as config/qemu-user makes its sockets and console log here (xend made the folder).
    if (this.user) chownSync(dir, this.user.uid, this.user.gid);
    mkdirSync(this.paths.xenLogDir, { recursive: true });
    this.reportedLost.delete(spec.domid);
    const fail = (detail: string): never => {
      rmSync(dir, { recursive: true, force: true });
      this.children.delete(spec.domid);
      throw new XvmError("QEMU_START", { domid: spec.domid, name: spec.name, detail });
    };
    try {
      await createTaps(cmd.taps, this.user);
    } catch (error) {
      fail(`cannot create its network devices: ${errorMessage(error)}`);
    }

    const state: GuestState = {
      domid: spec.domid, name: spec.name, uuid: spec.uuid, bootKiB: cmd.bootKiB, maxMemKiB: spec.maxMemKiB, targetKiB: spec.memoryKiB,
      maxVcpus: spec.maxVcpus, startTime: Date.now() / 1000, pid: -1, meta: spec.meta ?? {}, taps: cmd.taps, argv: cmd.argv,
      ...(spec.incoming ? { incoming: true } : {}),
      ...(spec.sched ? { sched: { ...spec.sched } } : {}),
    };
    try {
      // A guest arriving by migration waits for its state from the start (prepareIncoming).
      await this.startQemu(state, spec.incoming ? [...cmd.argv, "-incoming", "defer"] : cmd.argv);
    } catch (error) {
      await removeTaps(cmd.taps).catch(() => {});
      fail(errorMessage(error));
    }
    try {
      // The balloon target and vCPU pinning of an incoming guest come with its state.
      if (spec.memoryKiB < cmd.bootKiB && !spec.incoming) await this.qmp(spec.domid, "balloon", { value: spec.memoryKiB * 1024 });
      const cpus = await this.qmp<CpuFast[]>(spec.domid, "query-cpus-fast");
      for (const cpu of cpus) {
        const allowed = spec.affinity[cpu["cpu-index"]] ?? spec.affinity[0];
        if (allowed && allowed.length > 0) await taskset(cpu["thread-id"], allowed);
      }
      // Weight and cap from the config (cpu_weight, cpu_cap) before the guest runs.
      // On a host without a cpu controller they are not in force, and info says so (the defaults);
      // xm sched-credit -d then explains why.
      if (spec.sched && (spec.sched.weight !== SCHED_DEFAULTS.weight || spec.sched.cap !== SCHED_DEFAULTS.cap)) {
        if (!applySched(this.paths.root, spec.domid, state.pid, spec.sched, cpuController())) {
          delete state.sched;
          writeGuestState(this.dir(spec.domid), state);
        }
      }
      if (!spec.paused && !spec.incoming) await this.qmp(spec.domid, "cont");
    } catch (error) {
      await this.destroy(spec.domid).catch(() => {});
      throw new XvmError("QEMU_START", { domid: spec.domid, name: spec.name, detail: errorMessage(error) });
    }
    return this.info(spec.domid);
  }

  /**
   * Spawns QEMU for `state` (detached, its own session), records its pid in guest.json and waits
   * until QMP answers. Throws with the end of QEMU's log when it exits or does not answer.
   */
  private async startQemu(state: GuestState, argv: string[]): Promise<void> {
    const dir = this.dir(state.domid);
    const log = openSync(this.logFile(state.domid), "a", 0o600);
    // The kernel and ramdisk reach QEMU as files xend opened (fd 3, 4): QEMU, maybe running as
    // config/qemu-user, needs no right on the folders that hold them.
    const fds: number[] = [];
    const args = [...argv];
    let child: ChildProcess;
    try {
      for (const flag of ["-kernel", "-initrd"]) {
        const at = args.indexOf(flag);
        if (at < 0) continue;
        fds.push(openSync(args[at + 1]!, "r"));
        args[at + 1] = `/dev/fd/${2 + fds.length}`;
      }
      const command = this.user
        ? ["setpriv", `--reuid=${this.user.uid}`, `--regid=${this.user.gid}`, "--clear-groups", "--", this.binary, ...args]
        : [this.binary, ...args];
      child = spawn(command[0]!, command.slice(1), { detached: true, stdio: ["ignore", log, log, ...fds], env: process.env });
    } finally {
      closeSync(log);
      for (const fd of fds) closeSync(fd);
    }
    const entry: { child: ChildProcess; exit?: string } = { child };
    this.children.set(state.domid, entry);
    let spawnError: Error | undefined;
    child.on("error", (error) => (spawnError = error));
    child.on("exit", (code, signal) => (entry.exit = signal ? `was killed by ${signal}` : `exited with status ${code}`));
    child.unref();
    state.pid = child.pid ?? -1;
    writeGuestState(dir, state);
    const deadline = Date.now() + this.startTimeoutMs;
    let wait = 5;
    for (;;) {
      if (spawnError || entry.exit) throw new Error(spawnError?.message ?? `QEMU ${entry.exit}: ${this.logTail(state.domid)}`);
      if (existsSync(join(dir, QMP_SOCKET))) {
        try {
          await this.link(state.domid);
          break;
        } catch {
          // listening in a moment
        }
      }
      if (Date.now() > deadline) {
        if (child.pid) process.kill(child.pid, "SIGKILL");
        throw new Error(`QMP not ready after ${this.startTimeoutMs} ms: ${this.logTail(state.domid)}`);
      }
      await sleep(wait);
      wait = Math.min(10, wait * 2);
    }
    for (const f of [QMP_SOCKET, CONSOLE_SOCKET]) {
      try {
        chmodSync(join(dir, f), 0o600);
      } catch {
        // the directory is 0700 anyway
      }
    }
  }

  /**
   * Ends a guest's QEMU that never ran (created paused) and starts the same QEMU again with
   * `extra` arguments: an incoming migration needs `-incoming defer` from the start.
   */
  async respawn(domid: number, extra: string[], incoming = false): Promise<void> {
    const dir = this.dir(domid);
    const state = readGuestState(dir);
    if (!state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    state.incoming = incoming || undefined;
    const link = await this.link(domid);
    link.ending = true;
    await link.qmp.execute("quit", undefined, 5_000).catch(() => {});
    const deadline = Date.now() + 5_000;
    while (pidAlive(state.pid) && Date.now() < deadline) await sleep(2);
    if (pidAlive(state.pid)) process.kill(state.pid, "SIGKILL");
    while (pidAlive(state.pid)) await sleep(2);
    link.console?.destroy();
    this.attached.delete(domid);
    rmSync(join(dir, QMP_SOCKET), { force: true });
    rmSync(join(dir, CONSOLE_SOCKET), { force: true });
    try {
      await this.startQemu(state, [...state.argv, ...extra]);
    } catch (error) {
      throw new XvmError("QEMU_START", { domid, name: state.name, detail: errorMessage(error) });
    }
  }

  logTail(domid: number): string {
    try {
      const lines = readFileSync(this.logFile(domid), "utf8").trimEnd().split("\n");
      return lines.slice(-3).join(" | ") || "(no output)";
    } catch {
      return "(no log)";
    }
  }

  async info(domid: number): Promise<GuestInfo> {
    const link = await this.link(domid);
    const state = readGuestState(this.dir(domid));
    if (!state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    const status = await this.qmp<StatusAnswer>(domid, "query-status");
    const balloon = await this.qmp<{ actual: number }>(domid, "query-balloon").catch(() => ({ actual: state.targetKiB * 1024 }));
    const cpus = await this.qmp<CpuFast[]>(domid, "query-cpus-fast");
    const byIndex = new Map(cpus.map((c) => [c["cpu-index"], c]));
    const vcpus: VcpuInfo[] = [];
    let anyRunning = false;
    for (let n = 0; n < state.maxVcpus; n++) {
      const c = byIndex.get(n);
      const facts = c ? threadFacts(link.pid, c["thread-id"]) : undefined;
      const runningNow = status.running && facts?.state === "R";
      anyRunning ||= runningNow;
      vcpus.push({
        number: n, online: c !== undefined, running: !!runningNow, blocked: c !== undefined && status.running && !runningNow,
        cpuTimeNs: facts?.cpuTimeNs ?? 0, cpu: facts?.cpu ?? -1, affinity: facts?.affinity ?? [],
      });
    }
    const s = status.status;
    const shutdown = s === "shutdown";
    const crashed = s === "guest-panicked";
    return {
      domid, name: state.name, uuid: state.uuid,
      running: status.running && anyRunning,
      blocked: status.running && !anyRunning,
      paused: !status.running && !shutdown && !crashed,
      shutdown, crashed, dying: false,
      shutdownReason: crashed ? "crash" : shutdown ? (state.stopped ?? "poweroff") : undefined,
      memoryKiB: Math.floor(balloon.actual / 1024), maxMemKiB: state.maxMemKiB, targetKiB: state.targetKiB,
      vcpus, maxVcpus: state.maxVcpus, cpuTimeNs: vcpus.reduce((sum, v) => sum + v.cpuTimeNs, 0),
      pid: link.pid, startTime: state.startTime, meta: state.meta,
      sched: { ...(state.sched ?? SCHED_DEFAULTS) },
    };
  }

  /** xm sched-credit -d: the guest's cgroup gets the new weight and cap at once (./cgroup.ts). */
  async setSchedParams(domid: number, params: SchedParams): Promise<void> {
    const dir = this.dir(domid);
    const state = readGuestState(dir);
    if (!state || !isQemuOf(state.pid, dir)) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    this.requireCpuController();
    applySched(this.paths.root, domid, state.pid, params, cpuController());
    state.sched = { ...params };
    writeGuestState(dir, state);
  }

  private requireCpuController(): void {
    if (!cpuController()) {
      throw new XvmError("XVM_NOT_IMPLEMENTED", { what: "the credit scheduler for QEMU guests on this host (no cgroup cpu controller under /sys/fs/cgroup)" });
    }
  }

  async destroy(domid: number): Promise<void> {
    const dir = this.dir(domid);
    const state = readGuestState(dir);
    if (!existsSync(dir) || !state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    this.destroying.add(domid);
    const open = this.attached.get(domid);
    if (open) open.ending = true;
    try {
      if (isQemuOf(state.pid, dir)) {
        try {
          const link = await this.link(domid);
          link.ending = true;
          await link.qmp.execute("quit", undefined, 5_000);
        } catch {
          // QEMU may be gone before it answers, or be stuck: it is killed below if need be
        }
        const deadline = Date.now() + 5_000;
        while (pidAlive(state.pid) && Date.now() < deadline) await sleep(2);
        if (pidAlive(state.pid)) {
          process.kill(state.pid, "SIGKILL");
          while (pidAlive(state.pid)) await sleep(2);
        }
      }
      await removeTaps(state.taps).catch(() => {});
      removeSched(this.paths.root, domid, cpuController());
      rmSync(dir, { recursive: true, force: true });
      const link = this.attached.get(domid);
      link?.qmp.close();
      link?.console?.destroy();
      this.attached.delete(domid);
      this.children.delete(domid);
    } finally {
      this.destroying.delete(domid);
    }
  }

  async pause(domid: number): Promise<void> {
    await this.qmp(domid, "stop");
  }

  async unpause(domid: number): Promise<void> {
    await this.qmp(domid, "cont");
  }

  async requestShutdown(domid: number, reason: Exclude<ShutdownReason, "crash">): Promise<void> {
    if (reason === "poweroff" || reason === "halt") {
      // The ACPI power button: a guest that ignores it stays up (xm shutdown -w says so).
      await this.qmp(domid, "system_powerdown");
    } else if (reason === "reboot") {
      // QEMU has no reboot request a guest can act on; a reset is what the guest's own reboot
      // ends in. With -action reboot=shutdown it stops QEMU and xend runs on_reboot.
      await this.qmp(domid, "system_reset");
    } else {
      throw new XvmError("QEMU_UNSUPPORTED", { domid, detail: `the qemu hypervisor cannot ${reason} a guest (xm suspend and xm save save its state instead)` });
    }
  }

  async crash(domid: number): Promise<void> {
    // Xen's sysrq c crashed the guest kernel; here an NMI does, in guests that panic on one
    // (kernel.unknown_nmi_panic = 1, as the test guest sets). pvpanic reports the panic.
    await this.qmp(domid, "inject-nmi");
  }

  async setMemoryTarget(domid: number, kib: number): Promise<void> {
    const state = readGuestState(this.dir(domid));
    if (!state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    if (kib > state.bootKiB) {
      throw new XvmError("QEMU_UNSUPPORTED", { domid, detail: `QEMU cannot give a guest more than the ${state.bootKiB / 1024} MiB it was started with (maxmem at creation)` });
    }
    await this.qmp(domid, "balloon", { value: kib * 1024 });
    this.updateState(domid, (s) => (s.targetKiB = kib));
  }

  async setMaxMemory(domid: number, kib: number): Promise<void> {
    const state = readGuestState(this.dir(domid));
    if (!state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    if (kib > state.bootKiB) {
      throw new XvmError("QEMU_UNSUPPORTED", { domid, detail: `QEMU cannot raise a guest's memory above the ${state.bootKiB / 1024} MiB it was started with; set maxmem in the config and create it again` });
    }
    if (state.targetKiB > kib) await this.setMemoryTarget(domid, kib);
    this.updateState(domid, (s) => (s.maxMemKiB = kib));
  }

  async setVcpus(domid: number, count: number): Promise<void> {
    const state = readGuestState(this.dir(domid));
    if (!state) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    const slots = await this.qmp<Hotpluggable[]>(domid, "query-hotpluggable-cpus");
    const present = slots.filter((s) => s["qom-path"]).length;
    if (count === present) return;
    if (count < present) {
      // device_del of a vCPU makes QEMU 7.2 under TCG segfault on the next reset or device_add.
      throw new XvmError("QEMU_UNSUPPORTED", { domid, detail: `the qemu hypervisor adds vCPUs but does not remove them (QEMU's vCPU unplug is not safe); the guest keeps ${present}` });
    }
    const free = slots.filter((s) => !s["qom-path"]).sort((a, b) => (a.props["core-id"] ?? 0) - (b.props["core-id"] ?? 0) || (a.props["socket-id"] ?? 0) - (b.props["socket-id"] ?? 0));
    for (const slot of free.slice(0, count - present)) {
      await this.qmp(domid, "device_add", { driver: slot.type, id: `vcpu${slot.props["socket-id"] ?? 0}-${slot.props["core-id"] ?? 0}-${slot.props["thread-id"] ?? 0}`, ...slot.props });
    }
  }

  async pinVcpu(domid: number, vcpu: number, cpus: number[]): Promise<void> {
    const list = await this.qmp<CpuFast[]>(domid, "query-cpus-fast");
    const c = list.find((x) => x["cpu-index"] === vcpu);
    if (!c) throw new XvmError("QEMU_UNSUPPORTED", { domid, detail: `vCPU ${vcpu} is not online` });
    const host = (await import("node:os")).cpus().length;
    await taskset(c["thread-id"], cpus.length > 0 ? cpus : Array.from({ length: host }, (_, i) => i));
  }

  async setMeta(domid: number, name: string, meta: Record<string, unknown>): Promise<void> {
    if (!this.updateState(domid, (s) => {
      s.name = name;
      s.meta = meta;
    })) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
  }

  async consoleRead(domid: number): Promise<string> {
    if (!existsSync(this.dir(domid))) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    return readConsole(join(this.dir(domid), CONSOLE_LOG));
  }

  async consoleWrite(domid: number, data: string): Promise<void> {
    const link = await this.link(domid);
    if (!link.console || link.console.destroyed) this.attachConsole(link);
    const socket = link.console!;
    await new Promise<void>((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  // ---- device hot-plug (hotplug.ts) -----------------------------------------------------------

  private get devices(): hotplug.HotplugHost {
    return {
      user: this.user,
      command: (domid, cmd, args, timeoutMs) => this.qmp(domid, cmd, args, timeoutMs),
      watchEvents: (domid, listener) => this.watchEvents(domid, listener),
      taps: (domid) => readGuestState(this.dir(domid))?.taps ?? [],
      setTaps: (domid, change) => void this.updateState(domid, (s) => (s.taps = change(s.taps))),
    };
  }

  attachDisk(domid: number, disk: GuestDisk): Promise<void> {
    return hotplug.attachDisk(this.devices, domid, disk);
  }

  detachDisk(domid: number, disk: GuestDisk): Promise<void> {
    return hotplug.detachDisk(this.devices, domid, disk);
  }

  attachVif(domid: number, vif: GuestVif): Promise<void> {
    return hotplug.attachVif(this.devices, domid, vif);
  }

  detachVif(domid: number, vif: GuestVif): Promise<void> {
    return hotplug.detachVif(this.devices, domid, vif);
  }

  async vcpuState(domid: number): Promise<VcpuState[]> {
    const text = await this.qmp<string>(domid, "human-monitor-command", { "command-line": "info registers -a" });
    const out: VcpuState[] = [];
    for (const block of text.split(/^CPU#/m).slice(1)) {
      const number = Number.parseInt(block, 10);
      const regs: Record<string, string> = {};
      for (const m of block.matchAll(/\b([A-Z][A-Z0-9]*)=([0-9a-f]{8,16})\b/g)) regs[m[1]!.toLowerCase()] = BigInt(`0x${m[2]}`).toString();
      out.push({ number: Number.isNaN(number) ? out.length : number, regs });
    }
    return out;
  }

  private ramPath(domid: number): string {
    const state = readGuestState(this.dir(domid));
    if (!state || !isQemuOf(state.pid, this.dir(domid))) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    const path = guestRamPath(state.pid);
    if (!path) throw new XvmError("QEMU_UNSUPPORTED", { domid, detail: "its RAM is not in a memfd this driver can read" });
    return path;
  }

  async readPages(domid: number, pfns: number[]): Promise<Uint8Array> {
    return readRamPages(this.ramPath(domid), pfns);
  }

  async memoryDigest(domid: number): Promise<MemoryDigest> {
    const status = await this.qmp<StatusAnswer>(domid, "query-status");
    if (status.running) await this.qmp(domid, "stop");
    try {
      return digestRam(this.ramPath(domid), readGuestState(this.dir(domid))!.bootKiB);
    } finally {
      if (status.running) await this.qmp(domid, "cont");
    }
  }

  dumpCore(domid: number, path: string, options: DumpOptions): Promise<void> {
    return dumpGuestMemory(this, domid, path, options);
  }

  // Live migration (migration.ts).
  prepareIncoming(domid: number, options: IncomingOptions): Promise<IncomingMigration> {
    return migration.prepareIncoming(this, domid, options);
  }

  prepareMigrateOut(domid: number, options: Pick<MigrateOutOptions, "autoConverge" | "maxDowntimeMs" | "maxBandwidth">): void {
    migration.prepareMigrateOut(this, domid, options);
  }

  migrateOut(domid: number, target: MigrationEndpoint, options: MigrateOutOptions): Promise<MigrationStats> {
    return migration.migrateOut(this, domid, target, options);
  }

  finishMigrateOut(domid: number, committed: boolean): Promise<void> {
    return migration.finishMigrateOut(this, domid, committed);
  }

  // Save and restore: a migration to and from a file (save-restore.ts).
  saveTo(domid: number, path: string, options: SaveOptions): Promise<SavedState> {
    return saves.saveTo(this, domid, path, options);
  }

  restoreFrom(path: string, spec: GuestSpec, options: RestoreOptions): Promise<GuestInfo> {
    return saves.restoreFrom(this, path, spec, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.attached.values()) {
      link.ending = true;
      link.qmp.close();
      link.console?.destroy();
    }
    this.attached.clear();
    for (const { child } of this.children.values()) child.removeAllListeners();
    this.children.clear();
    this.listeners.clear();
  }
}

/** Pins one QEMU thread (sched_setaffinity through taskset: Node has no binding for it). */
async function taskset(tid: number, cpus: number[]): Promise<void> {
  try {
    await run("taskset", ["-pc", cpus.join(","), String(tid)], { timeout: 10_000 });
  } catch (error) {
    throw new XvmError("QEMU_UNSUPPORTED", { domid: "?", detail: `cannot pin thread ${tid} to CPUs ${cpus.join(",")}: ${errorMessage(error)}` });
  }
}

export function createQemuDriver(options: QemuDriverOptions): QemuDriver {
  return new QemuDriver(options);
}
