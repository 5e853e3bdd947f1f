/**
 * A test double of the hypervisor driver for the domain manager's unit tests: guests are records
 * in memory, events are emitted on demand (shutdown, crash, a lost runner), and every call is
 * recorded. It keeps `meta` per guest like a real driver, so a second manager over the same double
 * re-attaches as after a daemon restart.
 */
import { XvmError } from "../../src/errors.ts";
import type {
  DumpOptions, GuestEvent, GuestInfo, GuestSpec, HypervisorDriver, PhysInfo, ShutdownReason, VcpuState,
} from "../../src/hypervisor/driver.ts";

export interface FakeGuest {
  spec: GuestSpec;
  name: string;
  meta: Record<string, unknown>;
  paused: boolean;
  life: "running" | "shutdown" | "crashed";
  reason?: ShutdownReason;
  targetKiB: number;
  maxMemKiB: number;
  online: number;
  affinity: number[][];
  console: string;
  startTime: number;
}

export const FAKE_PHYS: PhysInfo = {
  hostname: "fakehost", release: "6.0", version: "#1", machine: "x86_64", nrCpus: 4, nrNodes: 1, coresPerSocket: 4,
  threadsPerCore: 1, socketsPerNode: 1, cpuMhz: 2000, totalMemoryKiB: 4 * 1024 * 1024, freeMemoryKiB: 4 * 1024 * 1024,
  pageSize: 4096, hypervisor: { name: "fake", major: 3, minor: 4, extra: ".0-fake", caps: ["xen-3.0-x86_64"] },
};

export class FakeDriver implements HypervisorDriver {
  readonly name = "fake";
  readonly guests = new Map<number, FakeGuest>();
  readonly calls: string[] = [];
  private readonly listeners = new Set<(e: GuestEvent) => void>();
  /** Guests whose runner died while no manager listened: list() reports them once, lost. */
  readonly lostWhileDetached = new Map<number, FakeGuest>();
  /** Makes requestShutdown answer with the guest's own shutdown event (as a real guest would). */
  autoShutdown = true;

  async physInfo(): Promise<PhysInfo> {
    return { ...FAKE_PHYS };
  }

  private info0(domid: number, g: FakeGuest, lost = false): GuestInfo {
    const alive = g.life === "running";
    return {
      domid, name: g.name, uuid: g.spec.uuid, running: false, blocked: alive && !g.paused, paused: alive && g.paused,
      shutdown: g.life === "shutdown", crashed: g.life === "crashed" || lost, dying: false, shutdownReason: g.reason,
      memoryKiB: g.targetKiB, maxMemKiB: g.maxMemKiB, targetKiB: g.targetKiB,
      vcpus: Array.from({ length: g.spec.maxVcpus }, (_, n) => ({
        number: n, online: n < g.online, running: false, blocked: alive && n < g.online, cpuTimeNs: 1e9 * (n + 1), cpu: n < g.online ? n : -1, affinity: [...(g.affinity[n] ?? [])],
      })),
      maxVcpus: g.spec.maxVcpus, cpuTimeNs: 1e9, pid: 10_000 + domid, startTime: g.startTime, meta: structuredClone(g.meta),
      ...(lost ? { lost: true } : {}),
    };
  }

  private get(domid: number): FakeGuest {
    const g = this.guests.get(domid);
    if (!g) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
    return g;
  }

  async list(): Promise<GuestInfo[]> {
    const out = [...this.guests].map(([d, g]) => this.info0(d, g));
    for (const [d, g] of this.lostWhileDetached) {
      out.push(this.info0(d, g, true));
      setTimeout(() => this.emit({ type: "lost", domid: d, detail: "runner died while no driver was attached" }), 0);
    }
    this.lostWhileDetached.clear();
    return out;
  }

  async create(spec: GuestSpec): Promise<GuestInfo> {
    this.calls.push(`create ${spec.domid} ${spec.name}`);
    if (this.guests.has(spec.domid)) throw new XvmError("DOMAIN_EXISTS", { name: spec.name, domid: spec.domid });
    const g: FakeGuest = {
      spec: structuredClone(spec), name: spec.name, meta: structuredClone(spec.meta), paused: spec.paused, life: "running",
      targetKiB: spec.memoryKiB, maxMemKiB: spec.maxMemKiB, online: spec.vcpus, affinity: spec.affinity.map((a) => [...a]),
      console: `booting ${spec.kernel}\n`, startTime: 1_700_000_000 + spec.domid,
    };
    this.guests.set(spec.domid, g);
    return this.info0(spec.domid, g);
  }

  async info(domid: number): Promise<GuestInfo> {
    return this.info0(domid, this.get(domid));
  }

  async destroy(domid: number): Promise<void> {
    this.calls.push(`destroy ${domid}`);
    this.get(domid);
    this.guests.delete(domid);
  }

  async pause(domid: number): Promise<void> {
    this.calls.push(`pause ${domid}`);
    this.get(domid).paused = true;
  }

  async unpause(domid: number): Promise<void> {
    this.calls.push(`unpause ${domid}`);
    this.get(domid).paused = false;
  }

  async requestShutdown(domid: number, reason: Exclude<ShutdownReason, "crash">): Promise<void> {
    this.calls.push(`shutdown ${domid} ${reason}`);
    const g = this.get(domid);
    if (this.autoShutdown) setTimeout(() => this.guestStops(domid, reason), 0);
    void g;
  }

  async crash(domid: number): Promise<void> {
    this.calls.push(`crash ${domid}`);
    const g = this.get(domid);
    g.life = "crashed";
    g.reason = "crash";
    setTimeout(() => this.emit({ type: "crashed", domid, detail: "Kernel panic - not syncing: test" }), 0);
  }

  /** The guest shuts down on its own (or acts on a request). */
  guestStops(domid: number, reason: Exclude<ShutdownReason, "crash">): void {
    const g = this.guests.get(domid);
    if (!g) return;
    g.life = "shutdown";
    g.reason = reason;
    this.emit({ type: "shutdown", domid, reason });
  }

  /** The guest's runner is killed (kill -9): it is gone and a `lost` event says so. */
  killRunner(domid: number): void {
    this.guests.delete(domid);
    this.emit({ type: "lost", domid, detail: `runner pid ${10_000 + domid} was killed by SIGKILL` });
  }

  async setMemoryTarget(domid: number, kib: number): Promise<void> {
    this.calls.push(`mem ${domid} ${kib}`);
    this.get(domid).targetKiB = kib;
  }

  async setMaxMemory(domid: number, kib: number): Promise<void> {
    this.calls.push(`maxmem ${domid} ${kib}`);
    this.get(domid).maxMemKiB = kib;
  }

  async setVcpus(domid: number, count: number): Promise<void> {
    this.calls.push(`vcpus ${domid} ${count}`);
    this.get(domid).online = count;
  }

  async pinVcpu(domid: number, vcpu: number, cpus: number[]): Promise<void> {
    this.calls.push(`pin ${domid} ${vcpu} ${cpus.join(",")}`);
    this.get(domid).affinity[vcpu] = [...cpus];
  }

  async setMeta(domid: number, name: string, meta: Record<string, unknown>): Promise<void> {
    this.calls.push(`meta ${domid} ${name}`);
    const g = this.get(domid);
    g.name = name;
    g.meta = structuredClone(meta);
  }

  async consoleRead(domid: number): Promise<string> {
    return this.get(domid).console;
  }

  async consoleWrite(domid: number, data: string): Promise<void> {
    this.calls.push(`console ${domid} ${JSON.stringify(data)}`);
    this.get(domid);
  }

  /** The guest prints on its console. */
  print(domid: number, data: string): void {
    this.get(domid).console += data;
    this.emit({ type: "console", domid, data });
  }

  async vcpuState(): Promise<VcpuState[]> {
    return [];
  }

  async readPages(): Promise<Uint8Array> {
    return new Uint8Array();
  }

  async dumpCore(_domid: number, _path: string, _options: DumpOptions): Promise<void> {
    throw new Error("not in the double");
  }

  subscribe(listener: (event: GuestEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: GuestEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
