/**
 * The host as xend accounted for it: total memory, what guests hold, Domain-0 (this host's control
 * domain) and what is free; Domain-0's vCPUs; and `xm info`'s node fields.
 *
 * Domain-0 stands for this host. Until a plugin says otherwise (DomainManager.setHostResources:
 * dom0-min-mem owns memory, dom0-cpus owns vCPUs) it holds every KiB no guest holds, so free memory
 * is 0 as on a Xen host whose dom0 was given all memory at boot, and creating a guest shrinks
 * Domain-0 implicitly. Once a plugin sets Domain-0's memory, that figure is kept (capped at what
 * guests leave) and a new guest must fit in the free memory: the plugin balloons Domain-0 down in
 * its domainPreCreate hook first.
 */
import { cpus as osCpus, uptime as osUptime } from "node:os";
import type { PhysInfo, VcpuInfo } from "../hypervisor/driver.ts";
import { VERSION } from "../version.ts";
import type { HostResources, NodeInfo } from "./types.ts";

export interface MemoryFigures {
  totalKiB: number;
  guestsKiB: number;
  dom0KiB: number;
  freeKiB: number;
  /** Whether a plugin fixed Domain-0's allocation (else Domain-0 yields memory on demand). */
  dom0Fixed: boolean;
}

export class HostAccount {
  private resources: HostResources = {};
  /**
   * `xm vcpu-set 0 N`: how many of Domain-0's vCPUs are online (the first N of the layout), or
   * undefined for all of them. A later, smaller layout (dom0-cpus refreshed) caps it.
   */
  private dom0Online: number | undefined;

  /** The most vCPUs Domain-0 may have online: its layout (dom0-cpus's plan, else one per CPU). */
  dom0MaxVcpus(phys: PhysInfo): number {
    return (this.resources.dom0Vcpus ?? []).length || phys.nrCpus;
  }

  setDom0Online(count: number): void {
    this.dom0Online = count;
  }

  set(update: HostResources): void {
    this.resources = { ...this.resources, ...stripUndefined(update) };
  }

  get current(): Readonly<HostResources> {
    return this.resources;
  }

  memory(phys: PhysInfo, guestsKiB: number): MemoryFigures {
    const totalKiB = this.resources.totalMemoryKiB ?? phys.totalMemoryKiB;
    const left = Math.max(0, totalKiB - guestsKiB);
    const fixed = this.resources.dom0MemoryKiB !== undefined;
    const dom0KiB = fixed ? Math.min(this.resources.dom0MemoryKiB!, left) : left;
    return { totalKiB, guestsKiB, dom0KiB, freeKiB: Math.max(0, left - dom0KiB), dom0Fixed: fixed };
  }

  /** KiB a new or growing guest may take now. */
  available(phys: PhysInfo, guestsKiB: number): number {
    const m = this.memory(phys, guestsKiB);
    return m.dom0Fixed ? m.freeKiB : m.freeKiB + m.dom0KiB;
  }

  /** Domain-0's vCPUs: as a plugin set them, else one per host CPU, each free to run anywhere. */
  dom0Vcpus(phys: PhysInfo): VcpuInfo[] {
    const busy = cpuBusyNs();
    const layout = this.resources.dom0Vcpus ?? Array.from({ length: phys.nrCpus }, (_, i) => ({ cpu: i, affinity: [] as number[] }));
    const online = Math.min(this.dom0Online ?? layout.length, layout.length);
    return layout.map((v, number) => ({
      number,
      online: number < online,
      running: number < online,
      blocked: false,
      cpuTimeNs: number < online ? busy[v.cpu] ?? 0 : 0,
      cpu: number < online ? v.cpu : -1,
      affinity: [...v.affinity],
    }));
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Busy time of each host CPU, ns. Domain-0's vCPUs are the host's CPUs here, so their time is the
 * time the host spent outside idle (which includes the guests' runner processes: there is no
 * hypervisor below to tell them apart).
 */
export function cpuBusyNs(): number[] {
  // os.cpus() reads and parses /proc/stat and /proc/cpuinfo: a listing per request would spend
  // more on it than on the rest of Domain-0's record, so a reading serves for 0.1 s (as guests'
  // info does, src/hypervisor/info-cache.ts).
  const now = performance.now();
  if (!busyCache || now - busyCache.at > BUSY_CACHE_MS) {
    busyCache = { at: now, ns: osCpus().map((c) => (c.times.user + c.times.nice + c.times.sys + c.times.irq) * 1e6) };
  }
  return [...busyCache.ns];
}

const BUSY_CACHE_MS = 100;
let busyCache: { at: number; ns: number[] } | undefined;

/** When this host booted, epoch seconds: Domain-0's start time (`xm uptime 0` shows the host's). */
export function hostBootTime(): number {
  // Read once: now − uptime moves by a few ms from call to call (two clocks read apart), which made
  // Domain-0's record differ in every listing, so none could be kept (plugins/unix-server/app.ts).
  bootTime ??= Date.now() / 1000 - osUptime();
  return bootTime;
}

let bootTime: number | undefined;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** `xm info` fields in [3.4]'s order (XendNode.info), with values from the driver and accounting. */
export function nodeInfo(phys: PhysInfo, mem: MemoryFigures): NodeInfo {
  const hv = phys.hypervisor;
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  const runtime = bun ? `bun ${bun.version}` : `node ${process.versions.node}`;
  const cpusList = phys.nrCpus > 1 ? `0-${phys.nrCpus - 1}` : "0";
  return {
    host: phys.hostname,
    release: phys.release,
    version: phys.version,
    machine: phys.machine,
    nr_cpus: phys.nrCpus,
    nr_nodes: phys.nrNodes,
    cores_per_socket: phys.coresPerSocket,
    threads_per_core: phys.threadsPerCore,
    cpu_mhz: phys.cpuMhz,
    // The simulator does not model CPUID feature words; empty rather than invented.
    hw_caps: "",
    virt_caps: "",
    total_memory: Math.floor(mem.totalKiB / 1024),
    free_memory: Math.floor(mem.freeKiB / 1024),
    node_to_cpu: `node0:${cpusList}`,
    node_to_memory: `node0:${Math.floor(mem.freeKiB / 1024)}`,
    xen_major: hv.major,
    xen_minor: hv.minor,
    xen_extra: hv.extra,
    xen_caps: hv.caps.join(" "),
    xen_scheduler: "credit",
    xen_pagesize: phys.pageSize,
    platform_params: `virt_start=${hex(0)}`,
    xen_changeset: `xvm ${VERSION} (${hv.name})`,
    cc_compiler: runtime,
    cc_compile_by: "xvm",
    cc_compile_domain: "",
    cc_compile_date: "",
    xend_config_format: 4,
  };
}
