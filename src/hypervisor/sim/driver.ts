/**
 * The simulated hypervisor's driver (the façade over ./runner-processes.ts and ./runner-client.ts):
 * starts one runner process per guest (`xvm __runner <dir>`, detached, in its own session, output to
 * var/log/xen/runner.<domid>.log), talks to each over its runner socket, and finds the runners
 * again after a daemon restart (`list()`).
 *
 * A runner that dies while attached becomes a `lost` event; one that died while no driver was
 * attached is reported once by `list()` (with `lost: true`) plus a `lost` event, then forgotten.
 *
 * Besides {@link HypervisorDriver} it offers the sim's own page, dirty-log, vCPU-state and throttle
 * operations, for tests and benchmarks (`readPages`, `writePages`, `setLogDirty`, `takeDirtyLog`,
 * `vcpuState`, `setVcpuState`, `throttle`, `stats`, `pauseTimed`) and `call` for any runner command.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import type { Socket } from "node:net";
import { join } from "node:path";
import { XvmError, errorMessage } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { selfCommand } from "../../runtime/self.ts";
import type {
  DumpOptions,
  GuestEvent,
  GuestInfo,
  GuestDisk,
  GuestSpec,
  GuestVif,
  HypervisorDriver,
  IncomingMigration,
  IncomingOptions,
  MemoryDigest,
  MigrateOutOptions,
  MigrationEndpoint,
  MigrationStats,
  PhysInfo,
  RestoreOptions,
  SavedState,
  SaveOptions,
  SchedParams,
  ShutdownReason,
  VcpuState,
} from "../driver.ts";
import { CreditBalancer } from "./credit-balancer.ts";
import type { RunnerSpec } from "./guest.ts";
import { hostPhysInfo } from "./hostinfo.ts";
import { simRunnerOverheadKiB } from "./overhead.ts";
import * as migration from "./migration/driver-side.ts";
import * as saves from "./save-restore.ts";
import { PAGE_SIZE } from "./memory.ts";
import { RUNNER_SOCKET, type EventHeader } from "./protocol.ts";
import { type CallOptions, type CallResult, connectSocket, type Link, openLink, request } from "./runner-client.ts";
import { isRunnerProcess, lostGuestInfo, reapRunner, type RunnerChild, RunnerFolders, sleep, validateSpec } from "./runner-processes.ts";

export type { CallOptions, CallResult } from "./runner-client.ts";

export interface SimDriverOptions {
  paths: Paths;
  /** argv prefix that starts this program (default: {@link selfCommand}); `__runner <dir>` is appended. */
  command?: string[];
  /** How long a runner may take to come up (default 30 s). */
  startTimeoutMs?: number;
}

interface HelloResult {
  info: GuestInfo;
  pending: ({ seq: number; type: "shutdown"; reason: ShutdownReason } | { seq: number; type: "crashed"; detail: string })[];
}

const READ_PAGES_BATCH = 4096;

export class SimDriver implements HypervisorDriver {
  readonly name = "sim";
  private readonly paths: Paths;
  private readonly folders: RunnerFolders;
  private readonly command: string[];
  private readonly startTimeoutMs: number;
  private readonly links = new Map<number, Link>();
  private readonly connecting = new Map<number, Promise<Link>>();
  private readonly listeners = new Set<(event: GuestEvent) => void>();
  private readonly children = new Map<number, RunnerChild>();
  /** Guests this driver is destroying: their runner going away is expected. */
  private readonly destroying = new Set<number>();
  private readonly creating = new Set<number>();
  /** Domids already reported lost (so a lost guest is reported once). */
  private readonly reportedLost = new Set<number>();
  private closed = false;
  /** The credit scheduler: weights and caps made into per-vCPU limits (credit-balancer.ts). */
  private readonly credit: CreditBalancer;
  private adopted = false;

  constructor(options: SimDriverOptions) {
    this.paths = options.paths;
    this.folders = new RunnerFolders(options.paths);
    this.command = options.command ?? selfCommand();
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.credit = new CreditBalancer({
      domids: () => this.runnerDomids(),
      nrCpus: () => hostPhysInfo(0).nrCpus,
      call: async (domid, cmd, args) => (await this.call(domid, cmd, args ?? {})).result,
    });
  }

  /** Domids of the guests whose runners exist and are not being created or destroyed. */
  private runnerDomids(): number[] {
    try {
      return readdirSync(this.paths.runnersDir).filter((n) => /^\d+$/.test(n)).map(Number)
        .filter((d) => !this.destroying.has(d) && !this.creating.has(d));
    } catch {
      return [];
    }
  }

  dir(domid: number): string {
    return this.folders.dir(domid);
  }

  logFile(domid: number): string {
    return this.folders.logFile(domid);
  }

  // ---- events --------------------------------------------------------------------------------

  subscribe(listener: (event: GuestEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(event: GuestEvent): boolean {
    // A guest that stopped (or vanished) no longer competes for CPUs.
    if (event.type !== "console") this.credit.changed();
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch {
        // a listener's failure is its own
      }
    }
    return this.listeners.size > 0;
  }

  private onEvent(link: Link, header: EventHeader): void {
    const e = header.event;
    const domid = link.domid;
    const event: GuestEvent =
      e.type === "console"
        ? { type: "console", domid, data: e.data }
        : e.type === "crashed"
          ? { type: "crashed", domid, detail: e.detail }
          : { type: "shutdown", domid, reason: e.reason as ShutdownReason };
    const delivered = this.emit(event);
    // Life-cycle events are acknowledged only once someone heard them: otherwise the runner keeps
    // them for the next driver that attaches.
    if (header.seq !== undefined && delivered) this.ack(link, header.seq);
  }

  private ack(link: Link, seq: number): void {
    request(link, "ackEvents", { seq }, {}).catch(() => {});
  }

  // ---- connections ---------------------------------------------------------------------------

  /** The open link to a guest's runner, connecting (and re-attaching) when needed. */
  private async link(domid: number): Promise<Link> {
    const open = this.links.get(domid);
    if (open && !open.closed) return open;
    const inFlight = this.connecting.get(domid);
    if (inFlight) return inFlight;
    const attempt = this.attach(domid).finally(() => this.connecting.delete(domid));
    this.connecting.set(domid, attempt);
    return attempt;
  }

  private async attach(domid: number): Promise<Link> {
    const dir = this.dir(domid);
    const pid = this.folders.readPid(domid);
    if (!existsSync(dir) || pid === undefined) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    let socket: Socket;
    try {
      socket = await connectSocket(join(dir, RUNNER_SOCKET));
    } catch (error) {
      if (!isRunnerProcess(pid, dir)) {
        // A closed driver (its daemon stopping, or replaced) leaves the folder to the next one,
        // which reports the guest lost: removing it here would hide the guest from that one.
        if (!this.closed) this.forgetLost(domid, `runner pid ${pid} is gone`);
        throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
      }
      throw new XvmError("HV_RUNNER_GONE", { domid, detail: `cannot connect to ${join(dir, RUNNER_SOCKET)}: ${errorMessage(error)}` });
    }
    const link = openLink(domid, pid, socket, { onEvent: (l, header) => this.onEvent(l, header), onClose: (l) => this.onClose(l) });
    this.links.set(domid, link);
    let hello: HelloResult;
    try {
      hello = (await request(link, "hello", { subscribe: true }, { timeoutMs: 10_000 })).result as HelloResult;
    } catch (error) {
      link.ending = true;
      socket.destroy();
      throw error;
    }
    if (hello.pending.length) {
      // Events that happened while no driver listened: delivered after the caller has the guest.
      setTimeout(() => {
        for (const e of hello.pending) {
          this.onEvent(link, { event: e.type === "crashed" ? { type: "crashed", detail: e.detail } : { type: "shutdown", reason: e.reason }, seq: e.seq });
        }
      }, 0);
    }
    return link;
  }

  private onClose(link: Link): void {
    if (this.links.get(link.domid) === link) this.links.delete(link.domid);
    if (this.closed || link.ending || this.destroying.has(link.domid)) return;
    void this.checkLost(link);
  }

  /** After a connection drops: a dead runner is a lost guest; a live one is re-attached. */
  private async checkLost(link: Link): Promise<void> {
    const dir = this.dir(link.domid);
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      if (this.closed || this.destroying.has(link.domid)) return;
      if (!isRunnerProcess(link.pid, dir)) {
        const exit = this.children.get(link.domid)?.exit;
        this.forgetLost(link.domid, exit ? `runner pid ${link.pid} ${exit}` : `runner pid ${link.pid} is gone`);
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

  /** Cleans up after a runner that died, and tells subscribers once. Returns the last spec seen. */
  private forgetLost(domid: number, detail: string): RunnerSpec | undefined {
    const spec = this.folders.readSpec(domid);
    rmSync(this.dir(domid), { recursive: true, force: true });
    this.children.delete(domid);
    // A runner that dies while create() waits for it is create()'s failure, not a lost guest.
    if (!this.reportedLost.has(domid) && !this.creating.has(domid)) {
      this.reportedLost.add(domid);
      this.emit({ type: "lost", domid, detail });
    }
    return spec;
  }

  /**
   * Sends any runner command (see commands/index.ts) to a guest's runner: the way for other areas
   * (migration) to reach their own runner commands.
   */
  async call(domid: number, cmd: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<CallResult> {
    return request(await this.link(domid), cmd, args, options);
  }

  private async result<T>(domid: number, cmd: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    return (await this.call(domid, cmd, args, options)).result as T;
  }

  // ---- HypervisorDriver ----------------------------------------------------------------------

  async physInfo(): Promise<PhysInfo> {
    const guests = await this.list();
    return hostPhysInfo(guests.filter((g) => !g.lost).reduce((sum, g) => sum + g.targetKiB + simRunnerOverheadKiB(g.maxVcpus), 0));
  }

  /** Each runner's own memory, beyond the guest's (overhead.ts). */
  guestOverheadKiB(maxVcpus: number): number {
    return simRunnerOverheadKiB(maxVcpus);
  }

  async list(): Promise<GuestInfo[]> {
    let names: string[];
    try {
      names = readdirSync(this.paths.runnersDir);
    } catch {
      return [];
    }
    const domids = names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
    const out = await Promise.all(domids.map((domid) => this.listOne(domid)));
    if (!this.adopted) {
      // First look after a (re)start: the guests found keep their weights and caps.
      this.adopted = true;
      this.credit.changed();
    }
    return out.filter((g): g is GuestInfo => g !== undefined);
  }

  private async listOne(domid: number): Promise<GuestInfo | undefined> {
    // Guests being created or destroyed by this driver appear once create() has returned.
    if (this.destroying.has(domid) || this.creating.has(domid)) return undefined;
    const pid = this.folders.readPid(domid);
    const dir = this.dir(domid);
    if (pid === undefined || !isRunnerProcess(pid, dir)) {
      const spec = this.folders.readSpec(domid);
      // A half-received guest that died is not a guest of this host: the source kept it.
      if (!spec || spec.incoming === true) {
        rmSync(dir, { recursive: true, force: true });
        return undefined;
      }
      return this.lostInfo(domid, spec, pid);
    }
    // Still marked incoming and not started by this driver: an earlier xend was receiving it.
    if (this.folders.readSpec(domid)?.incoming === true && !this.children.has(domid)) return this.orphanedIncoming(domid, pid);
    try {
      return await this.info(domid);
    } catch (error) {
      if (error instanceof XvmError && error.code === "DOMAIN_NOT_FOUND") return undefined;
      throw error;
    }
  }

  /**
   * A guest an earlier xend was receiving when it went away (spec.incoming): unless its runner is
   * in the middle of being handed the guest by the source (it then waits for the answer), it
   * destroys itself — the source kept or got back the guest — and is never listed, so it can
   * never be re-attached nor unpaused. A runner that does not answer is killed.
   */
  private async orphanedIncoming(domid: number, pid: number): Promise<GuestInfo | undefined> {
    const dir = this.dir(domid);
    this.destroying.add(domid);
    try {
      let kept = false;
      try {
        const r = (await this.call(domid, "migrateInOrphaned", {}, { timeoutMs: 20_000 })).result as { kept?: boolean } | null;
        kept = r?.kept === true;
      } catch {
        kept = false;
      }
      if (kept) {
        this.destroying.delete(domid);
        return await this.info(domid);
      }
      this.links.get(domid)?.socket.destroy();
      this.links.delete(domid);
      await reapRunner(pid);
      rmSync(dir, { recursive: true, force: true });
      return undefined;
    } finally {
      this.destroying.delete(domid);
    }
  }

  private lostInfo(domid: number, spec: RunnerSpec, pid: number | undefined): GuestInfo {
    // Emitted after list() resolves, like the events kept by live runners.
    rmSync(this.dir(domid), { recursive: true, force: true });
    setTimeout(() => this.forgetLost(domid, `runner pid ${pid ?? "?"} died while no driver was attached`), 0);
    return lostGuestInfo(domid, spec);
  }

  async create(spec: GuestSpec): Promise<GuestInfo> {
    validateSpec(spec);
    if (this.creating.has(spec.domid)) throw new XvmError("DOMAIN_EXISTS", { name: spec.name, domid: spec.domid });
    this.creating.add(spec.domid);
    try {
      return await this.spawnRunner(spec);
    } finally {
      this.creating.delete(spec.domid);
      this.credit.forget(spec.domid);
      this.credit.changed();
    }
  }

  private async spawnRunner(spec: GuestSpec): Promise<GuestInfo> {
    const dir = this.dir(spec.domid);
    const oldPid = this.folders.readPid(spec.domid);
    if (existsSync(dir) && oldPid !== undefined && isRunnerProcess(oldPid, dir)) {
      throw new XvmError("DOMAIN_EXISTS", { name: this.folders.readSpec(spec.domid)?.name ?? spec.name, domid: spec.domid });
    }
    this.reportedLost.delete(spec.domid);
    const entry = this.folders.start(this.command, spec);
    const child = entry.child;
    this.children.set(spec.domid, entry);

    const deadline = Date.now() + this.startTimeoutMs;
    let wait = 2;
    for (;;) {
      if (entry.spawnError || entry.exit) {
        rmSync(dir, { recursive: true, force: true });
        this.children.delete(spec.domid);
        throw new XvmError("HV_RUNNER_START", { domid: spec.domid, name: spec.name, detail: entry.spawnError?.message ?? `runner ${entry.exit}: ${this.folders.logTail(spec.domid)}` });
      }
      if (existsSync(join(dir, RUNNER_SOCKET))) {
        try {
          await this.link(spec.domid);
          break;
        } catch {
          // listening in a moment
        }
      }
      if (Date.now() > deadline) {
        if (child.pid) process.kill(child.pid, "SIGKILL");
        rmSync(dir, { recursive: true, force: true });
        throw new XvmError("HV_RUNNER_START", { domid: spec.domid, name: spec.name, detail: `not ready after ${this.startTimeoutMs} ms: ${this.folders.logTail(spec.domid)}` });
      }
      await sleep(wait);
      wait = Math.min(20, wait * 2);
    }
    return this.info(spec.domid);
  }

  info(domid: number): Promise<GuestInfo> {
    return this.result<GuestInfo>(domid, "info");
  }

  async destroy(domid: number): Promise<void> {
    const dir = this.dir(domid);
    const pid = this.folders.readPid(domid);
    if (!existsSync(dir)) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    this.destroying.add(domid);
    const open = this.links.get(domid);
    if (open) open.ending = true;
    try {
      if (pid !== undefined && isRunnerProcess(pid, dir)) {
        try {
          const link = await this.link(domid);
          link.ending = true;
          await request(link, "destroy", {}, { timeoutMs: 10_000 });
        } catch {
          // the runner may be gone before it answers, or be stuck: it is killed below if need be
        }
        await reapRunner(pid);
      }
      rmSync(dir, { recursive: true, force: true });
      this.links.get(domid)?.socket.destroy();
      this.links.delete(domid);
      this.children.delete(domid);
    } finally {
      this.destroying.delete(domid);
      this.credit.changed();
    }
  }

  async pause(domid: number): Promise<void> {
    await this.result(domid, "pause");
    this.credit.changed();
  }

  /** Pause, returning how long the runner took from the request to all vCPUs stopped. */
  async pauseTimed(domid: number): Promise<{ stoppedMs: number }> {
    return this.result<{ stoppedMs: number }>(domid, "pause");
  }

  async unpause(domid: number): Promise<void> {
    await this.result(domid, "unpause");
    this.credit.changed();
  }

  async requestShutdown(domid: number, reason: Exclude<ShutdownReason, "crash">): Promise<void> {
    await this.result(domid, "shutdown", { reason });
  }

  async crash(domid: number): Promise<void> {
    await this.result(domid, "crash");
  }

  async setMemoryTarget(domid: number, kib: number): Promise<void> {
    await this.result(domid, "setMemoryTarget", { kib });
  }

  async setMaxMemory(domid: number, kib: number): Promise<void> {
    await this.result(domid, "setMaxMemory", { kib });
  }

  async setVcpus(domid: number, count: number): Promise<void> {
    await this.result(domid, "setVcpus", { count });
    this.credit.changed();
  }

  async pinVcpu(domid: number, vcpu: number, cpus: number[]): Promise<void> {
    await this.result(domid, "pinVcpu", { vcpu, cpus });
    this.credit.changed();
  }

  /** Weight and cap (xm sched-credit): kept by the runner, in force once this resolves. */
  async setSchedParams(domid: number, params: SchedParams): Promise<void> {
    await this.result(domid, "setSched", { weight: params.weight, cap: params.cap });
    this.credit.changed();
    await this.credit.settled();
  }

  /** Device hot-plug (HypervisorDriver): the runner opens or closes the backing (commands/devices.ts). */
  async attachDisk(domid: number, disk: GuestDisk): Promise<void> {
    await this.result(domid, "attachDisk", { disk: { ...disk } });
  }

  async detachDisk(domid: number, disk: GuestDisk): Promise<void> {
    await this.result(domid, "detachDisk", { devid: disk.devid });
  }

  async attachVif(domid: number, vif: GuestVif): Promise<void> {
    await this.result(domid, "attachVif", { vif: { ...vif } });
  }

  async detachVif(domid: number, vif: GuestVif): Promise<void> {
    await this.result(domid, "detachVif", { mac: vif.mac });
  }

  /** Per-vCPU limits in force (percent of one CPU), for tests and benchmarks. */
  async schedLimits(domid: number): Promise<number[]> {
    await this.credit.settled();
    return (await this.result<{ limits: number[] }>(domid, "schedState")).limits;
  }

  async setMeta(domid: number, name: string, meta: Record<string, unknown>): Promise<void> {
    await this.result(domid, "setMeta", { name, meta });
  }

  consoleRead(domid: number): Promise<string> {
    return this.result<string>(domid, "consoleRead");
  }

  async consoleWrite(domid: number, data: string): Promise<void> {
    await this.result(domid, "consoleWrite", { data });
  }

  vcpuState(domid: number): Promise<VcpuState[]> {
    return this.result<VcpuState[]>(domid, "vcpuState");
  }

  async setVcpuState(domid: number, states: VcpuState[]): Promise<void> {
    await this.result(domid, "setVcpuState", { states });
  }

  async readPages(domid: number, pfns: number[]): Promise<Uint8Array> {
    const out = new Uint8Array(pfns.length * PAGE_SIZE);
    for (let at = 0; at < pfns.length; at += READ_PAGES_BATCH) {
      const batch = pfns.slice(at, at + READ_PAGES_BATCH);
      const { payload } = await this.call(domid, "readPages", { pfns: batch });
      out.set(payload, at * PAGE_SIZE);
    }
    return out;
  }

  async writePages(domid: number, pfns: number[], data: Uint8Array): Promise<void> {
    if (data.byteLength !== pfns.length * PAGE_SIZE) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: `writePages: ${pfns.length} pages need ${pfns.length * PAGE_SIZE} bytes, got ${data.byteLength}` });
    }
    for (let at = 0; at < pfns.length; at += READ_PAGES_BATCH) {
      const end = Math.min(pfns.length, at + READ_PAGES_BATCH);
      await this.call(domid, "writePages", { pfns: pfns.slice(at, end) }, { payload: data.subarray(at * PAGE_SIZE, end * PAGE_SIZE) });
    }
  }

  async setLogDirty(domid: number, enabled: boolean): Promise<void> {
    await this.result(domid, "logDirty", { enable: enabled });
  }

  async takeDirtyLog(domid: number): Promise<Uint8Array> {
    return (await this.call(domid, "takeDirty")).payload;
  }

  async throttle(domid: number, percent: number): Promise<void> {
    await this.result(domid, "throttle", { percent });
  }

  /** Runner figures (RSS, populated guest memory, dirty pages) for benchmarks and diagnostics. */
  stats(domid: number): Promise<{ rssBytes: number; populatedBytes: number; dirtyPages: number; nrPages: number; throttle: number }> {
    return this.result(domid, "stats");
  }

  async dumpCore(domid: number, path: string, options: DumpOptions): Promise<void> {
    await this.call(domid, "dumpCore", { path, live: options.live }, {
      timeoutMs: 0,
      onProgress: (p) => options.onProgress?.(Number(p.done), Number(p.total)),
    });
  }

  // Save and restore (save-restore.ts, runner commands in commands/save.ts).
  saveTo(domid: number, path: string, options: SaveOptions): Promise<SavedState> {
    return saves.saveTo((...a) => this.call(...a), domid, path, options);
  }

  restoreFrom(path: string, spec: GuestSpec, options: RestoreOptions): Promise<GuestInfo> {
    return saves.restoreFrom(
      { call: (...a) => this.call(...a), create: (s) => this.create(s), destroy: (d) => this.destroy(d), info: (d) => this.info(d) },
      path, spec, options,
    );
  }

  // Migration (src/hypervisor/sim/migration/, runner commands in commands/migrate.ts).
  prepareIncoming(domid: number, options: IncomingOptions): Promise<IncomingMigration> {
    return migration.prepareIncoming((...a) => this.call(...a), domid, options);
  }

  migrateOut(domid: number, target: MigrationEndpoint, options: MigrateOutOptions): Promise<MigrationStats> {
    return migration.migrateOut((...a) => this.call(...a), domid, target, options);
  }

  finishMigrateOut(domid: number, committed: boolean): Promise<{ committed: boolean }> {
    return migration.finishMigrateOut((...a) => this.call(...a), domid, committed);
  }

  memoryDigest(domid: number): Promise<MemoryDigest> {
    return migration.memoryDigest((...a) => this.call(...a), domid);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.credit.close();
    // A pass already scheduled ends before close() does (it returns at once once closed).
    await this.credit.settled();
    for (const link of this.links.values()) link.socket.destroy();
    this.links.clear();
    for (const { child } of this.children.values()) child.removeAllListeners();
    this.children.clear();
    this.listeners.clear();
  }
}

export function createSimDriver(options: SimDriverOptions): SimDriver {
  return new SimDriver(options);
}
