/**
 * The simulated hypervisor's driver: starts one runner process per guest (`xvm __runner <dir>`,
 * detached, in its own session, output to var/log/xen/runner.<domid>.log), talks to each over its
 * runner socket, and finds the runners again after a daemon restart (`list()`).
 *
 * A runner that dies while attached becomes a `lost` event; one that died while no driver was
 * attached is reported once by `list()` (with `lost: true`) plus a `lost` event, then forgotten.
 */
import { pidAlive } from "../../runtime/process.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { join } from "node:path";
import { XvmError, errorMessage } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { selfCommand } from "../../runtime/self.ts";
import type {
  DumpOptions,
  GuestEvent,
  GuestInfo,
  GuestSpec,
  HypervisorDriver,
  IncomingMigration,
  IncomingOptions,
  MemoryDigest,
  MigrateOutOptions,
  MigrationEndpoint,
  MigrationStats,
  PhysInfo,
  SchedParams,
  ShutdownReason,
  VcpuState,
} from "../driver.ts";
import { CreditBalancer } from "./credit-balancer.ts";
import { MAX_VCPUS } from "./control.ts";
import { writeFileAtomic } from "./files.ts";
import { encodeFrame, readFrames } from "./framing.ts";
import type { RunnerSpec } from "./guest.ts";
import { hostPhysInfo } from "./hostinfo.ts";
import * as migration from "./migration/driver-side.ts";
import { PAGE_SIZE } from "./memory.ts";
import { checkProgram } from "./programs.ts";
import {
  RUNNER_PID,
  RUNNER_SOCKET,
  RUNNER_SPEC,
  type ErrorBody,
  type EventHeader,
  type ResponseHeader,
} from "./protocol.ts";

export interface SimDriverOptions {
  paths: Paths;
  /** argv prefix that starts this program (default: {@link selfCommand}); `__runner <dir>` is appended. */
  command?: string[];
  /** How long a runner may take to come up (default 30 s). */
  startTimeoutMs?: number;
}

export interface CallOptions {
  payload?: Uint8Array;
  onProgress?: (progress: Record<string, unknown>) => void;
  /** Default 60 s; 0 = no limit (dumps, migration streams). */
  timeoutMs?: number;
}

export interface CallResult {
  result: unknown;
  payload: Uint8Array;
}

interface Pending {
  cmd: string;
  resolve(value: CallResult): void;
  reject(error: Error): void;
  onProgress?: (progress: Record<string, unknown>) => void;
  timer?: ReturnType<typeof setTimeout>;
}

interface Link {
  domid: number;
  pid: number;
  socket: Socket;
  pending: Map<number, Pending>;
  nextId: number;
  closed: boolean;
  /** Set when this driver ends the runner (destroy): its going away is no loss. */
  ending: boolean;
}

interface HelloResult {
  info: GuestInfo;
  pending: ({ seq: number; type: "shutdown"; reason: ShutdownReason } | { seq: number; type: "crashed"; detail: string })[];
}

const READ_PAGES_BATCH = 4096;
const DEFAULT_TIMEOUT_MS = 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True while `pid` is a live (not zombie) process. */
export const processAlive = pidAlive;

/** True if `pid` is alive and is the runner of `dir` (a recycled pid is not). */
export function isRunnerProcess(pid: number, dir: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("__runner") && argv.some((a) => a === dir || a.endsWith(dir));
  } catch {
    return process.platform !== "linux";
  }
}

function toError(body: ErrorBody): XvmError {
  return new XvmError(body.code, body.params);
}

export class SimDriver implements HypervisorDriver {
  readonly name = "sim";
  private readonly paths: Paths;
  private readonly command: string[];
  private readonly startTimeoutMs: number;
  private readonly links = new Map<number, Link>();
  private readonly connecting = new Map<number, Promise<Link>>();
  private readonly listeners = new Set<(event: GuestEvent) => void>();
  private readonly children = new Map<number, { child: ChildProcess; exit?: string }>();
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
    return join(this.paths.runnersDir, String(domid));
  }

  logFile(domid: number): string {
    return join(this.paths.xenLogDir, `runner.${domid}.log`);
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
    this.request(link, "ackEvents", { seq }, {}).catch(() => {});
  }

  // ---- connections ---------------------------------------------------------------------------

  private readPid(domid: number): number | undefined {
    try {
      const pid = Number.parseInt(readFileSync(join(this.dir(domid), RUNNER_PID), "utf8"), 10);
      return pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private readSpec(domid: number): RunnerSpec | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir(domid), RUNNER_SPEC), "utf8")) as RunnerSpec;
    } catch {
      return undefined;
    }
  }

  private connectSocket(domid: number): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ path: join(this.dir(domid), RUNNER_SOCKET) });
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once("error", fail);
      socket.setTimeout(5_000, () => fail(new Error("connect timed out")));
      socket.once("connect", () => {
        socket.setTimeout(0);
        socket.off("error", fail);
        resolve(socket);
      });
    });
  }

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
    const pid = this.readPid(domid);
    if (!existsSync(dir) || pid === undefined) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    let socket: Socket;
    try {
      socket = await this.connectSocket(domid);
    } catch (error) {
      if (!isRunnerProcess(pid, dir)) {
        this.forgetLost(domid, `runner pid ${pid} is gone`);
        throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
      }
      throw new XvmError("HV_RUNNER_GONE", { domid, detail: `cannot connect to ${join(dir, RUNNER_SOCKET)}: ${errorMessage(error)}` });
    }
    const link: Link = { domid, pid, socket, pending: new Map(), nextId: 1, closed: false, ending: false };
    socket.on("error", () => {});
    socket.on("close", () => this.onClose(link));
    readFrames(socket, (frame) => this.onFrame(link, frame.header, frame.payload));
    this.links.set(domid, link);
    let hello: HelloResult;
    try {
      hello = (await this.request(link, "hello", { subscribe: true }, { timeoutMs: 10_000 })).result as HelloResult;
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

  private onFrame(link: Link, header: Record<string, unknown>, payload: Uint8Array): void {
    if ("event" in header) return this.onEvent(link, header as unknown as EventHeader);
    const id = header.id as number;
    const pending = link.pending.get(id);
    if (!pending) return;
    if ("progress" in header) return pending.onProgress?.(header.progress as Record<string, unknown>);
    link.pending.delete(id);
    clearTimeout(pending.timer);
    const response = header as unknown as ResponseHeader;
    if (response.ok) pending.resolve({ result: response.result, payload });
    else pending.reject(toError(response.error));
  }

  private onClose(link: Link): void {
    link.closed = true;
    if (this.links.get(link.domid) === link) this.links.delete(link.domid);
    const detail = `connection to runner pid ${link.pid} closed`;
    for (const p of link.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new XvmError("HV_RUNNER_GONE", { domid: link.domid, detail }));
    }
    link.pending.clear();
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
    const spec = this.readSpec(domid);
    rmSync(this.dir(domid), { recursive: true, force: true });
    this.children.delete(domid);
    // A runner that dies while create() waits for it is create()'s failure, not a lost guest.
    if (!this.reportedLost.has(domid) && !this.creating.has(domid)) {
      this.reportedLost.add(domid);
      this.emit({ type: "lost", domid, detail });
    }
    return spec;
  }

  private request(link: Link, cmd: string, args: Record<string, unknown>, options: CallOptions): Promise<CallResult> {
    if (link.closed) return Promise.reject(new XvmError("HV_RUNNER_GONE", { domid: link.domid, detail: "connection closed" }));
    const id = link.nextId++;
    return new Promise<CallResult>((resolve, reject) => {
      const pending: Pending = { cmd, resolve, reject, onProgress: options.onProgress };
      const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      if (timeoutMs > 0) {
        pending.timer = setTimeout(() => {
          link.pending.delete(id);
          reject(new XvmError("HV_RUNNER_TIMEOUT", { domid: link.domid, cmd, ms: timeoutMs }));
        }, timeoutMs);
      }
      link.pending.set(id, pending);
      link.socket.write(encodeFrame({ id, cmd, args }, options.payload));
    });
  }

  /**
   * Sends any runner command (see commands/index.ts) to a guest's runner: the way for other areas
   * (migration) to reach their own runner commands.
   */
  async call(domid: number, cmd: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<CallResult> {
    return this.request(await this.link(domid), cmd, args, options);
  }

  private async result<T>(domid: number, cmd: string, args: Record<string, unknown> = {}, options: CallOptions = {}): Promise<T> {
    return (await this.call(domid, cmd, args, options)).result as T;
  }

  // ---- HypervisorDriver ----------------------------------------------------------------------

  async physInfo(): Promise<PhysInfo> {
    const guests = await this.list();
    return hostPhysInfo(guests.filter((g) => !g.lost).reduce((sum, g) => sum + g.targetKiB, 0));
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
    const pid = this.readPid(domid);
    const dir = this.dir(domid);
    if (pid === undefined || !isRunnerProcess(pid, dir)) {
      const spec = this.readSpec(domid);
      if (!spec) {
        rmSync(dir, { recursive: true, force: true });
        return undefined;
      }
      return this.lostInfo(domid, spec, pid);
    }
    try {
      return await this.info(domid);
    } catch (error) {
      if (error instanceof XvmError && error.code === "DOMAIN_NOT_FOUND") return undefined;
      throw error;
    }
  }

  private lostInfo(domid: number, spec: RunnerSpec, pid: number | undefined): GuestInfo {
    // Emitted after list() resolves, like the events kept by live runners.
    rmSync(this.dir(domid), { recursive: true, force: true });
    setTimeout(() => this.forgetLost(domid, `runner pid ${pid ?? "?"} died while no driver was attached`), 0);
    return {
      domid,
      name: spec.name,
      uuid: spec.uuid,
      running: false,
      blocked: false,
      paused: false,
      shutdown: false,
      crashed: true,
      dying: false,
      shutdownReason: "crash",
      memoryKiB: spec.memoryKiB,
      maxMemKiB: spec.maxMemKiB,
      targetKiB: spec.memoryKiB,
      vcpus: [],
      maxVcpus: spec.maxVcpus,
      cpuTimeNs: 0,
      startTime: spec.startTime,
      meta: spec.meta,
      lost: true,
    };
  }

  private validate(spec: GuestSpec): void {
    const bad = (detail: string): never => {
      throw new XvmError("DOMAIN_CONFIG", { detail });
    };
    if (!Number.isInteger(spec.domid) || spec.domid < 1) bad(`domid must be a positive integer (got ${spec.domid})`);
    if (!spec.name) bad("a domain needs a name");
    if (!Number.isInteger(spec.memoryKiB) || spec.memoryKiB < 1024) bad(`memory must be at least 1 MiB (got ${spec.memoryKiB} KiB)`);
    if (!Number.isInteger(spec.maxMemKiB) || spec.maxMemKiB < spec.memoryKiB) bad(`maxmem (${spec.maxMemKiB} KiB) must be at least memory (${spec.memoryKiB} KiB)`);
    if (!Number.isInteger(spec.maxVcpus) || spec.maxVcpus < 1 || spec.maxVcpus > MAX_VCPUS) bad(`maxvcpus must be 1..${MAX_VCPUS} (got ${spec.maxVcpus})`);
    if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > spec.maxVcpus) bad(`vcpus must be 1..${spec.maxVcpus} (got ${spec.vcpus})`);
    checkProgram(spec.kernel, spec.extra, spec.memoryKiB * 1024);
  }

  async create(spec: GuestSpec): Promise<GuestInfo> {
    this.validate(spec);
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
    const oldPid = this.readPid(spec.domid);
    if (existsSync(dir) && oldPid !== undefined && isRunnerProcess(oldPid, dir)) {
      throw new XvmError("DOMAIN_EXISTS", { name: this.readSpec(spec.domid)?.name ?? spec.name, domid: spec.domid });
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.paths.xenLogDir, { recursive: true });
    const runnerSpec: RunnerSpec = {
      ...spec,
      affinity: spec.affinity.map((a) => [...a]),
      meta: spec.meta ?? {},
      allocKiB: Math.ceil(spec.maxMemKiB / 4) * 4,
      startTime: Date.now() / 1000,
    };
    writeFileAtomic(join(dir, RUNNER_SPEC), JSON.stringify(runnerSpec, null, 2));
    this.reportedLost.delete(spec.domid);

    const log = openSync(this.logFile(spec.domid), "a", 0o600);
    let child: ChildProcess;
    try {
      child = spawn(this.command[0]!, [...this.command.slice(1), "__runner", dir], {
        detached: true,
        stdio: ["ignore", log, log],
        env: process.env,
      });
    } finally {
      closeSync(log);
    }
    const entry: { child: ChildProcess; exit?: string } = { child };
    this.children.set(spec.domid, entry);
    let spawnError: Error | undefined;
    child.on("error", (error) => (spawnError = error));
    child.on("exit", (code, signal) => (entry.exit = signal ? `was killed by ${signal}` : `exited with status ${code}`));
    child.unref();
    if (child.pid) writeFileSync(join(dir, RUNNER_PID), `${child.pid}\n`);

    const deadline = Date.now() + this.startTimeoutMs;
    let wait = 2;
    for (;;) {
      if (spawnError || entry.exit) {
        rmSync(dir, { recursive: true, force: true });
        this.children.delete(spec.domid);
        throw new XvmError("HV_RUNNER_START", { domid: spec.domid, name: spec.name, detail: spawnError?.message ?? `runner ${entry.exit}: ${this.logTail(spec.domid)}` });
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
        throw new XvmError("HV_RUNNER_START", { domid: spec.domid, name: spec.name, detail: `not ready after ${this.startTimeoutMs} ms: ${this.logTail(spec.domid)}` });
      }
      await sleep(wait);
      wait = Math.min(20, wait * 2);
    }
    return this.info(spec.domid);
  }

  private logTail(domid: number): string {
    try {
      const lines = readFileSync(this.logFile(domid), "utf8").trimEnd().split("\n");
      return lines.slice(-3).join(" | ") || "(no output)";
    } catch {
      return "(no log)";
    }
  }

  info(domid: number): Promise<GuestInfo> {
    return this.result<GuestInfo>(domid, "info");
  }

  async destroy(domid: number): Promise<void> {
    const dir = this.dir(domid);
    const pid = this.readPid(domid);
    if (!existsSync(dir)) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    this.destroying.add(domid);
    const open = this.links.get(domid);
    if (open) open.ending = true;
    try {
      if (pid !== undefined && isRunnerProcess(pid, dir)) {
        try {
          const link = await this.link(domid);
          link.ending = true;
          await this.request(link, "destroy", {}, { timeoutMs: 10_000 });
        } catch {
          // the runner may be gone before it answers, or be stuck: it is killed below if need be
        }
        const deadline = Date.now() + 5_000;
        while (processAlive(pid) && Date.now() < deadline) await sleep(10);
        if (processAlive(pid)) {
          process.kill(pid, "SIGKILL");
          while (processAlive(pid)) await sleep(10);
        }
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

  // Migration (src/hypervisor/sim/migration/, runner commands in commands/migrate.ts).
  prepareIncoming(domid: number, options: IncomingOptions): Promise<IncomingMigration> {
    return migration.prepareIncoming((...a) => this.call(...a), domid, options);
  }

  migrateOut(domid: number, target: MigrationEndpoint, options: MigrateOutOptions): Promise<MigrationStats> {
    return migration.migrateOut((...a) => this.call(...a), domid, target, options);
  }

  finishMigrateOut(domid: number, committed: boolean): Promise<void> {
    return migration.finishMigrateOut((...a) => this.call(...a), domid, committed);
  }

  memoryDigest(domid: number): Promise<MemoryDigest> {
    return migration.memoryDigest((...a) => this.call(...a), domid);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.credit.close();
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
