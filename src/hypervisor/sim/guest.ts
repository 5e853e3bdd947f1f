/**
 * One simulated guest inside its runner process: guest memory, the control block, one worker
 * thread per vCPU, the console, and the guest's life (running, paused, shut down, crashed).
 *
 * Everything here runs on the runner's main thread; vCPUs only see shared memory. Operations that
 * must not race with guest writes (balloon, dumps, migration stop-and-copy) stop the vCPUs with
 * {@link SimGuest.withVcpusStopped}, which waits until every vCPU has parked.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { XvmError } from "../../errors.ts";
import { SCHED_DEFAULTS, type GuestDisk, type GuestInfo, type GuestSpec, type GuestVif, type SchedParams, type ShutdownReason, type VcpuInfo, type VcpuState } from "../driver.ts";
import { BlockDevices, allocateBlockTable } from "./blockdev.ts";
import { Control, G, MAX_VCPUS, ShutdownCode, StopCode, V, VcpuRun, allocateControl } from "./control.ts";
import { GuestMemory, PAGE_SIZE } from "./memory.ts";
import { checkProgram, cpuBound } from "./programs.ts";
import { parseThreadStat, type VcpuMessage } from "./vcpu.ts";
import { startVcpuThread, type VcpuWorker } from "./vcpu-thread.ts";

/** What a runner keeps on disk about its guest (spec.json in its folder). */
export interface RunnerSpec extends GuestSpec {
  /** KiB of guest memory allocated at start: the balloon can never go above it. */
  allocKiB: number;
  /** Epoch seconds. */
  startTime: number;
}

export type GuestLife = "running" | "shutdown" | "crashed" | "dying";

/** Life-cycle events a runner keeps until a driver acknowledges them. */
export type LifecycleEvent =
  | { seq: number; type: "shutdown"; reason: ShutdownReason }
  | { seq: number; type: "crashed"; detail: string };

export interface GuestHooks {
  lifecycle(event: LifecycleEvent): void;
  console(data: string): void;
  log(line: string): void;
}

const CONSOLE_RING_BYTES = 64 * 1024;
const PAUSE_TIMEOUT_MS = 5_000;
const READY_TIMEOUT_MS = 20_000;

interface VcpuThread {
  worker: VcpuWorker;
  tid: number | null;
  ready: Promise<void>;
  exited: boolean;
  finalCpuTimeNs: number | null;
}

export class SimGuest {
  readonly mem: GuestMemory;
  readonly ctl: Control;
  /** Virtual disks (back end: this thread opens their backing; front end: the vCPUs). */
  readonly block: BlockDevices;
  life: GuestLife = "running";
  shutdownReason?: ShutdownReason;
  crashDetail?: string;
  private readonly threads: (VcpuThread | undefined)[] = [];
  private readonly affinity: number[][];
  private consoleText = "";
  private consoleInput = "";
  private eventSeq = 0;
  private paused: boolean;
  private throttlePercent = 0;
  /** vCPUs whose thread affinity was set with taskset (so "any CPU" must be restored explicitly). */
  private readonly pinnedOnce = new Set<number>();

  constructor(readonly spec: RunnerSpec, private readonly hooks: GuestHooks) {
    checkProgram(spec.kernel, spec.extra, spec.memoryKiB * 1024);
    if (spec.maxVcpus > MAX_VCPUS) throw new XvmError("NO_VCPUS", { detail: `at most ${MAX_VCPUS} vCPUs per domain` });
    this.mem = GuestMemory.allocate(Math.ceil(spec.allocKiB / 4));
    this.ctl = new Control(allocateControl());
    this.ctl.set(G.TARGET_PAGES, Math.ceil(spec.memoryKiB / 4));
    this.ctl.set(G.VCPUS, spec.vcpus);
    this.paused = spec.paused;
    this.ctl.set(G.PAUSE, spec.paused ? 1 : 0);
    this.block = new BlockDevices(allocateBlockTable());
    try {
      for (const disk of spec.disks ?? []) this.block.attach(disk);
    } catch (error) {
      this.block.detachAll();
      throw error;
    }
    // One affinity list for all vCPUs (xm's `cpus = "0-1"`) or one per vCPU.
    this.affinity = Array.from({ length: spec.maxVcpus }, (_, i) => [...(spec.affinity[i] ?? spec.affinity[0] ?? [])]);
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get throttle(): number {
    return this.throttlePercent;
  }

  get targetKiB(): number {
    return this.ctl.get(G.TARGET_PAGES) * 4;
  }

  get onlineVcpus(): number {
    return this.ctl.get(G.VCPUS);
  }

  /** Starts the vCPU threads and resolves once each one runs. */
  async start(): Promise<void> {
    for (let v = 0; v < this.spec.vcpus; v++) this.startThread(v);
    await this.allReady();
  }

  private async allReady(): Promise<void> {
    const ready = Promise.all(this.threads.filter((t): t is VcpuThread => !!t).map((t) => t.ready));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`vCPU threads not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private startThread(v: number): VcpuThread {
    this.ctl.vcpuSet(v, V.ONLINE, 1);
    let markReady!: () => void;
    let fail!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      fail = reject;
    });
    // Failures are also reported through the "error" handler below; this promise may have no waiter.
    ready.catch(() => {});
    const worker = startVcpuThread({
      vcpu: v,
      kernel: this.spec.kernel,
      extra: this.spec.extra,
      control: this.ctl.buffer,
      memory: this.mem.buffers,
      blockdevs: this.block.buffer,
      vcpus: this.spec.vcpus,
      memoryKiB: this.spec.memoryKiB,
    });
    const thread: VcpuThread = { worker, tid: null, ready, exited: false, finalCpuTimeNs: null };
    this.threads[v] = thread;
    worker.onMessage((message) => this.onVcpuMessage(thread, message, markReady));
    worker.onError((error) => {
      fail(error);
      this.hooks.log(`vcpu${v}: thread failed: ${error.stack ?? error.message}`);
      if (this.life === "running") this.crash(`vCPU ${v} thread failed: ${error.message}`);
    });
    worker.onExit(() => {
      thread.exited = true;
      fail(new Error(`vCPU ${v} thread exited before it was ready`));
    });
    return thread;
  }

  private onVcpuMessage(thread: VcpuThread, message: VcpuMessage, markReady: () => void): void {
    switch (message.type) {
      case "ready":
        thread.tid = message.tid;
        this.applyAffinity(message.vcpu);
        markReady();
        break;
      case "console":
        this.writeConsole(message.data);
        break;
      case "shutdown":
        this.stopped("shutdown", message.reason as ShutdownReason);
        break;
      case "exit":
        thread.finalCpuTimeNs = message.cpuTimeNs;
        break;
    }
  }

  // ---- console -------------------------------------------------------------------------------

  writeConsole(data: string): void {
    this.consoleText += data;
    if (this.consoleText.length > CONSOLE_RING_BYTES) {
      const cut = this.consoleText.indexOf("\n", this.consoleText.length - CONSOLE_RING_BYTES);
      this.consoleText = this.consoleText.slice(cut >= 0 ? cut + 1 : this.consoleText.length - CONSOLE_RING_BYTES);
    }
    this.hooks.console(data);
  }

  readConsole(): string {
    return this.consoleText;
  }

  /**
   * Console input. The simulated guest kernel understands a few lines typed at its console, so a
   * guest can shut down, reboot or panic on its own (guest-initiated, as opposed to `xm shutdown`):
   * `poweroff`, `halt`, `reboot`, `panic`. A paused guest reads its input once unpaused.
   */
  inputConsole(data: string): void {
    this.consoleInput += data;
    this.processInput();
  }

  private processInput(): void {
    if (this.life !== "running" || this.paused) return;
    for (;;) {
      const nl = this.consoleInput.search(/[\r\n]/);
      if (nl < 0) return;
      const line = this.consoleInput.slice(0, nl).trim();
      this.consoleInput = this.consoleInput.slice(nl + 1);
      this.writeConsole(`${line}\n`);
      if (line === "poweroff" || line === "halt" || line === "reboot") this.ctl.set(G.SHUTDOWN_REQ, ShutdownCode[line]);
      else if (line === "panic") this.crash("Kernel panic - not syncing: requested from the console");
      else if (line === "help") this.writeConsole("commands: poweroff halt reboot panic lsblk ip link\n");
      else if (line === "lsblk") this.writeConsole(this.lsblk());
      else if (line === "ip link") this.writeConsole(this.ipLink());
      else if (line !== "") this.writeConsole(`sh: ${line.split(/\s+/)[0]}: not found\n`);
      if (this.life !== "running") return;
    }
  }

  // ---- life cycle ----------------------------------------------------------------------------

  private requireRunning(action: string): void {
    if (this.life !== "running") {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: this.spec.name, state: this.life === "shutdown" ? "shut down" : this.life, action });
    }
  }

  private allParked(): boolean {
    for (let v = 0; v < this.threads.length; v++) {
      const t = this.threads[v];
      if (!t || t.exited) continue;
      const state = this.ctl.vcpuGet(v, V.STATE);
      if (state !== VcpuRun.PAUSED && state !== VcpuRun.OFFLINE && state !== VcpuRun.STOPPED) return false;
    }
    return true;
  }

  /** Sets the pause flag and blocks until every vCPU has parked; returns the milliseconds it took. */
  private parkVcpus(): number {
    const t0 = performance.now();
    this.ctl.set(G.PAUSE, 1);
    this.ctl.kickAll(this.threads.length);
    if (!this.ctl.waitState(() => this.allParked(), PAUSE_TIMEOUT_MS)) {
      if (!this.paused) this.releaseVcpus();
      throw new XvmError("XVM_INTERNAL", { detail: `domain ${this.spec.domid}: vCPUs did not stop within ${PAUSE_TIMEOUT_MS} ms` });
    }
    return performance.now() - t0;
  }

  private releaseVcpus(): void {
    this.ctl.set(G.PAUSE, 0);
    this.ctl.kickAll(this.threads.length);
  }

  /** Pauses the guest; resolves with the time from request to all vCPUs stopped. */
  pause(): { stoppedMs: number } {
    this.requireRunning("pause");
    if (this.paused) throw new XvmError("DOMAIN_BAD_STATE", { dom: this.spec.name, state: "paused", action: "pause" });
    const stoppedMs = this.parkVcpus();
    this.paused = true;
    return { stoppedMs };
  }

  unpause(): void {
    this.requireRunning("unpause");
    if (!this.paused) throw new XvmError("DOMAIN_BAD_STATE", { dom: this.spec.name, state: "not paused", action: "unpause" });
    this.paused = false;
    this.releaseVcpus();
    this.processInput();
  }

  /**
   * Runs `fn` with no vCPU writing guest memory: parks the vCPUs of a running, unpaused guest and
   * releases them afterwards (a paused or stopped guest is left as it is).
   */
  withVcpusStopped<T>(fn: () => T): T {
    const park = this.life === "running" && !this.paused;
    if (park) this.parkVcpus();
    try {
      return fn();
    } finally {
      if (park && this.life === "running" && !this.paused) this.releaseVcpus();
    }
  }

  /** Asks the guest to shut down; it does so (from vCPU 0) when it next runs. */
  requestShutdown(reason: Exclude<ShutdownReason, "crash">): void {
    this.requireRunning(reason === "reboot" ? "reboot" : "shut down");
    this.ctl.set(G.SHUTDOWN_REQ, ShutdownCode[reason]);
    this.ctl.kick(0);
  }

  /** The guest panics (xm sysrq c, a console `panic`, or a vCPU thread that failed). */
  crash(detail = "Kernel panic - not syncing: sysrq triggered crash"): void {
    this.requireRunning("crash");
    this.writeConsole(`SysRq : Trigger a crash\n${detail}\n`);
    this.stopped("crashed", "crash", detail);
  }

  private stopped(life: "shutdown" | "crashed", reason: ShutdownReason, detail?: string): void {
    if (this.life !== "running") return;
    this.life = life;
    this.shutdownReason = reason;
    this.crashDetail = detail;
    this.ctl.set(G.STOP, life === "crashed" ? StopCode.CRASH : StopCode.SHUTDOWN);
    this.ctl.kickAll(this.threads.length);
    const seq = ++this.eventSeq;
    this.hooks.log(life === "crashed" ? `guest crashed: ${detail}` : `guest shut down (${reason})`);
    this.hooks.lifecycle(life === "crashed" ? { seq, type: "crashed", detail: detail ?? "crashed" } : { seq, type: "shutdown", reason });
  }

  /** Stops every vCPU thread for good (destroy), then closes the disks' backing. */
  async stop(): Promise<void> {
    this.life = "dying";
    this.ctl.set(G.STOP, StopCode.DESTROY);
    this.ctl.kickAll(this.threads.length);
    await Promise.all(this.threads.map((t) => (t && !t.exited ? t.worker.terminate() : undefined)));
    this.block.detachAll();
  }

  // ---- devices -------------------------------------------------------------------------------

  /** Hot-plugs a disk: its backing is open and the guest sees it once this returns. */
  attachDisk(disk: GuestDisk): void {
    if (this.life === "dying") this.requireRunning("attach a disk");
    this.withVcpusStopped(() => this.block.attach(disk));
    this.spec.disks = [...(this.spec.disks ?? []).filter((d) => d.devid !== disk.devid), disk];
    this.hooks.log(`disk ${disk.vdev} (${disk.devid}) attached: ${disk.type}:${disk.path}, mode ${disk.mode}`);
  }

  /** Unplugs a disk: no request is in flight (vCPUs parked) when its backing is closed. */
  detachDisk(devid: number): void {
    const known = (this.spec.disks ?? []).some((d) => d.devid === devid);
    const open = this.withVcpusStopped(() => this.block.detach(devid));
    if (!known && !open) throw new XvmError("XVM_NOT_FOUND", { detail: `Device ${devid} not connected` });
    this.spec.disks = (this.spec.disks ?? []).filter((d) => d.devid !== devid);
    this.hooks.log(`disk ${devid} detached`);
  }

  /** The simulated guest has no network: a vif is a device it lists (`ip link`), no more. */
  attachVif(vif: GuestVif): void {
    this.spec.vifs = [...(this.spec.vifs ?? []).filter((v) => v.mac !== vif.mac), vif];
    this.hooks.log(`vif ${vif.mac} attached${vif.bridge ? ` (bridge ${vif.bridge})` : ""}`);
  }

  detachVif(mac: string): void {
    const left = (this.spec.vifs ?? []).filter((v) => v.mac !== mac);
    if (left.length === (this.spec.vifs ?? []).length) throw new XvmError("XVM_NOT_FOUND", { detail: `Device ${mac} not connected` });
    this.spec.vifs = left;
    this.hooks.log(`vif ${mac} detached`);
  }

  private lsblk(): string {
    const names = new Map((this.spec.disks ?? []).map((d) => [d.devid, d.vdev]));
    const rows = this.block.list().map((d) =>
      `${(names.get(d.devid) ?? String(d.devid)).padEnd(6)} ${String(d.devid).padStart(6)} ${String(d.sectors).padStart(10)} ${d.writable ? "rw" : "ro"}   ${d.sectorsRead} ${d.sectorsWritten}\n`);
    return `NAME    DEVID    SECTORS MODE RD WR\n${rows.join("")}`;
  }

  private ipLink(): string {
    return (this.spec.vifs ?? []).map((v, i) => `${i + 2}: eth${i}: <BROADCAST,MULTICAST,UP>\n    link/ether ${v.mac}\n`).join("") || "1: lo: <LOOPBACK,UP>\n";
  }

  // ---- resources -----------------------------------------------------------------------------

  /** Weight and cap in force (kept in spec.json by the caller, so a re-attach sees them). */
  get sched(): SchedParams {
    return { ...SCHED_DEFAULTS, ...this.spec.sched };
  }

  setSched(params: SchedParams): void {
    if (!Number.isInteger(params.weight) || params.weight < 1 || params.weight > 65535) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: `weight must be an integer 1..65535 (got ${params.weight})` });
    }
    if (!Number.isInteger(params.cap) || params.cap < 0) throw new XvmError("XVM_BAD_REQUEST", { detail: `cap must be an integer percentage, 0 or more (got ${params.cap})` });
    this.spec.sched = { weight: params.weight, cap: params.cap };
  }

  /** What the driver's credit scheduler needs: per online vCPU, whether it wants the CPU and where it may run. */
  schedState(): { sched: SchedParams; vcpus: { busy: boolean; affinity: number[] }[]; limits: number[] } {
    const active = this.life === "running" && !this.paused;
    const vcpus = Array.from({ length: this.life === "running" ? this.onlineVcpus : 0 }, (_, v) => ({
      busy: active && cpuBound(this.spec.kernel, this.spec.extra, v, this.spec.memoryKiB * 1024),
      affinity: [...(this.affinity[v] ?? [])],
    }));
    return { sched: this.sched, vcpus, limits: this.limits() };
  }

  /** The scheduler's limit per vCPU (percent of each slice; missing ones are unlimited). */
  setLimits(limits: number[]): void {
    for (let v = 0; v < this.spec.maxVcpus; v++) {
      const limit = limits[v];
      this.ctl.vcpuSet(v, V.LIMIT, limit === undefined ? 0 : Math.max(1, Math.min(100, Math.round(limit))));
    }
  }

  /** The limits in force (100 = unlimited), for tests and diagnostics. */
  limits(): number[] {
    return Array.from({ length: this.onlineVcpus }, (_, v) => this.ctl.vcpuGet(v, V.LIMIT) || 100);
  }

  setThrottle(percent: number): void {
    if (!Number.isInteger(percent) || percent < 0 || percent > 99) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: `throttle must be an integer percentage 0..99 (got ${percent})` });
    }
    this.throttlePercent = percent;
    this.ctl.set(G.THROTTLE, percent);
  }

  /** Balloon: pages above the new target are given back (zeroed) before this returns. */
  setMemoryTarget(kib: number): { zeroedPages: number } {
    if (!Number.isInteger(kib) || kib < 4 * 16) throw new XvmError("XVM_BAD_REQUEST", { detail: `memory target must be at least 64 KiB (got ${kib} KiB)` });
    if (kib > this.spec.maxMemKiB) {
      throw new XvmError("NO_MEMORY", { detail: `memory target ${kib} KiB is above the maximum of domain ${this.spec.name} (${this.spec.maxMemKiB} KiB)` });
    }
    if (kib > this.spec.allocKiB) {
      throw new XvmError("NO_MEMORY", { detail: `memory target ${kib} KiB is above what domain ${this.spec.name} booted with (${this.spec.allocKiB} KiB); a higher maximum takes effect when it restarts` });
    }
    if (this.life === "dying") this.requireRunning("set memory");
    const pages = Math.ceil(kib / 4);
    const old = this.ctl.get(G.TARGET_PAGES);
    if (pages >= old) {
      this.ctl.set(G.TARGET_PAGES, pages);
      return { zeroedPages: 0 };
    }
    return this.withVcpusStopped(() => {
      this.ctl.set(G.TARGET_PAGES, pages);
      return { zeroedPages: this.mem.release(pages, this.mem.nrPages) };
    });
  }

  /** Raises or lowers the maximum; a target above a lowered maximum is ballooned down to it. */
  setMaxMemory(kib: number): void {
    if (!Number.isInteger(kib) || kib < 64) throw new XvmError("XVM_BAD_REQUEST", { detail: `maximum memory must be at least 64 KiB (got ${kib} KiB)` });
    // As Xen's setmaxmem: the limit may grow past what the guest booted with; the guest can only
    // balloon up to its boot allocation until it restarts with the new maximum.
    this.spec.maxMemKiB = kib;
    if (this.targetKiB > kib && this.life !== "dying") this.setMemoryTarget(kib);
  }

  setVcpus(count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > this.spec.maxVcpus) {
      throw new XvmError("NO_VCPUS", { detail: `Cannot set vcpus to ${count}: domain ${this.spec.name} has maxvcpus ${this.spec.maxVcpus}` });
    }
    this.requireRunning("set vcpus");
    this.ctl.set(G.VCPUS, count);
    for (let v = 0; v < this.spec.maxVcpus; v++) {
      const online = v < count;
      if (online && !this.threads[v]) {
        this.startThread(v);
        continue;
      }
      if (!this.threads[v]) continue;
      this.ctl.vcpuSet(v, V.ONLINE, online ? 1 : 0);
      this.ctl.kick(v);
    }
    this.spec.vcpus = count;
  }

  /** Waits until vCPUs started by {@link setVcpus} run (or park if the guest is paused). */
  async vcpusReady(): Promise<void> {
    await this.allReady();
  }

  pinVcpu(vcpu: number, cpuList: number[]): void {
    const nr = cpus().length;
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.spec.maxVcpus) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: `domain ${this.spec.name} has no vCPU ${vcpu} (maxvcpus ${this.spec.maxVcpus})` });
    }
    const bad = cpuList.find((c) => !Number.isInteger(c) || c < 0 || c >= nr);
    if (bad !== undefined) throw new XvmError("XVM_BAD_REQUEST", { detail: `invalid physical CPU ${bad}: this host has CPUs 0-${nr - 1}` });
    this.affinity[vcpu] = [...new Set(cpuList)].sort((a, b) => a - b);
    this.applyAffinity(vcpu);
  }

  /** Best effort: binds the vCPU's thread with taskset(1) when the host has it. */
  private applyAffinity(vcpu: number): void {
    const tid = this.threads[vcpu]?.tid;
    if (!tid || process.platform !== "linux") return;
    const wanted = this.affinity[vcpu] ?? [];
    if (wanted.length === 0 && !this.pinnedOnce.has(vcpu)) return;
    const list = wanted.length ? wanted.join(",") : `0-${cpus().length - 1}`;
    // node:child_process on first use: most guests are never pinned.
    const r = process.getBuiltinModule("node:child_process").spawnSync("taskset", ["-p", "-c", list, String(tid)], { stdio: "ignore" });
    if (r.status === 0) this.pinnedOnce.add(vcpu);
    else this.hooks.log(`vcpu${vcpu}: taskset ${list} failed (${r.error?.message ?? `exit ${r.status}`}); affinity only recorded`);
  }
  // ---- state -------------------------------------------------------------------------------

  private vcpuCpu(v: number): { cpuTimeNs: number; cpu: number } {
    const t = this.threads[v];
    if (!t) return { cpuTimeNs: 0, cpu: -1 };
    if (!t.exited && t.tid) {
      try {
        const stat = parseThreadStat(readFileSync(`/proc/self/task/${t.tid}/stat`, "utf8"));
        if (stat) {
          t.finalCpuTimeNs = stat.cpuTimeNs;
          return stat;
        }
      } catch {
        // thread just exited: use the last value
      }
    }
    return { cpuTimeNs: t.finalCpuTimeNs ?? 0, cpu: -1 };
  }

  vcpuInfo(): VcpuInfo[] {
    const out: VcpuInfo[] = [];
    for (let v = 0; v < this.spec.maxVcpus; v++) {
      const state = this.threads[v] ? this.ctl.vcpuGet(v, V.STATE) : VcpuRun.OFFLINE;
      const online = this.life === "running" && v < this.onlineVcpus;
      const active = online && !this.paused;
      const { cpuTimeNs, cpu } = this.vcpuCpu(v);
      out.push({
        number: v,
        online,
        running: active && state === VcpuRun.RUNNING,
        blocked: active && state === VcpuRun.BLOCKED,
        cpuTimeNs,
        cpu: online ? cpu : -1,
        affinity: [...(this.affinity[v] ?? [])],
      });
    }
    return out;
  }

  info(): GuestInfo {
    const vcpus = this.vcpuInfo();
    const alive = this.life === "running";
    const running = alive && !this.paused && vcpus.some((v) => v.running);
    return {
      domid: this.spec.domid,
      name: this.spec.name,
      uuid: this.spec.uuid,
      running,
      blocked: alive && !this.paused && !running,
      paused: alive && this.paused,
      shutdown: this.life === "shutdown",
      crashed: this.life === "crashed",
      dying: this.life === "dying",
      shutdownReason: this.shutdownReason,
      memoryKiB: this.targetKiB,
      maxMemKiB: this.spec.maxMemKiB,
      targetKiB: this.targetKiB,
      vcpus,
      maxVcpus: this.spec.maxVcpus,
      cpuTimeNs: vcpus.reduce((sum, v) => sum + v.cpuTimeNs, 0),
      pid: process.pid,
      startTime: this.spec.startTime,
      sched: this.sched,
      vbdStats: this.block.list().map(({ devid, readRequests, writeRequests, sectorsRead, sectorsWritten }) => ({ devid, readRequests, writeRequests, sectorsRead, sectorsWritten })),
      meta: this.spec.meta,
    };
  }

  /** Register state of the online vCPUs (read with the vCPUs parked unless the guest is stopped). */
  vcpuState(): VcpuState[] {
    const count = this.life === "running" ? this.onlineVcpus : this.spec.vcpus;
    return Array.from({ length: count }, (_, v) => ({ number: v, regs: this.ctl.regsOf(v) }));
  }

  /** Restores register state (migration receive): only while the guest is paused. */
  setVcpuState(states: VcpuState[]): void {
    if (this.life === "running" && !this.paused) {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: this.spec.name, state: "running", action: "set vCPU state" });
    }
    for (const s of states) {
      if (!Number.isInteger(s.number) || s.number < 0 || s.number >= this.spec.maxVcpus) {
        throw new XvmError("XVM_BAD_REQUEST", { detail: `vCPU ${s.number} is out of range (maxvcpus ${this.spec.maxVcpus})` });
      }
      this.ctl.setRegsOf(s.number, s.regs);
    }
  }

  populatedBytes(): number {
    return this.mem.countPopulated() * PAGE_SIZE;
  }
}
