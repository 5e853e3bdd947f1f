/**
 * An in-memory test double of the DomainManager interface, for unit tests of plugins that sit on
 * the domain manager. It only keeps records: no guests, no hypervisor. It behaves like the real
 * manager where tests look (lookup by name, domid or uuid; Domain-0 is privileged; errors from the
 * shared table) and records every call that changes something in `mutations`.
 */
import { XvmError } from "../../src/errors.ts";
import type {
  ConsoleWatch, DomainConfig, DomainManager, DomainStateFlags, DomainSummary, DomainTrigger, GuestInfo, HostResources, NodeInfo,
} from "../../src/domain/types.ts";

export interface DomainInit extends Partial<Omit<DomainConfig, "name">> {
  name: string;
  /** Default true; false makes an inactive managed domain. */
  active?: boolean;
  paused?: boolean;
  managed?: boolean;
  cpuTime?: number;
}

const NO_FLAGS: DomainStateFlags = { running: false, blocked: false, paused: false, shutdown: false, crashed: false, dying: false };

function stateOf(f: DomainStateFlags): string {
  return (f.running ? "r" : "-") + (f.blocked ? "b" : "-") + (f.paused ? "p" : "-") +
    (f.shutdown ? "s" : "-") + (f.crashed ? "c" : "-") + (f.dying ? "d" : "-");
}

export class DomainManagerDouble implements DomainManager {
  /** Every call that changes state, as `"<method> <args…>"`, successful or not. */
  readonly mutations: string[] = [];
  /** Every call, reads included. */
  readonly calls: string[] = [];
  /** Characters the last sysrq calls sent, per domain name. */
  readonly sysrqs: string[] = [];
  private readonly doms: DomainSummary[] = [];
  private nextDomid = 1;
  private nextUuid = 1;
  readonly dmesgRing: string[] = ["(XEN) Xen version 3.4.0 (simulated)", "(XEN) Scheduler: SMP Credit Scheduler (credit)"];

  constructor() {
    const dom0 = this.add({ name: "Domain-0", memory: 1024, vcpus: 2, kernel: "", managed: false });
    dom0.domid = 0;
    this.nextDomid = 1;
  }

  /** Adds a domain directly (test setup; not recorded). */
  add(init: DomainInit): DomainSummary {
    const config: DomainConfig = {
      name: init.name,
      uuid: init.uuid ?? this.uuid(),
      memory: init.memory ?? 256,
      vcpus: init.vcpus ?? 1,
      kernel: init.kernel ?? "sim:idle",
      on_poweroff: init.on_poweroff ?? "destroy",
      on_reboot: init.on_reboot ?? "restart",
      on_crash: init.on_crash ?? "restart",
      vif: init.vif ?? [],
      disk: init.disk ?? [],
    };
    for (const k of ["maxmem", "maxvcpus", "cpus", "ramdisk", "extra", "root", "extraKeys"] as const) {
      if (init[k] !== undefined) (config as unknown as Record<string, unknown>)[k] = init[k];
    }
    const active = init.active ?? true;
    const flags = { ...NO_FLAGS, blocked: active && !init.paused, paused: active && !!init.paused };
    const d: DomainSummary = {
      domid: active ? this.nextDomid++ : null,
      name: config.name,
      uuid: config.uuid!,
      memory: config.memory,
      maxmem: config.maxmem ?? config.memory,
      vcpus: config.vcpus,
      maxvcpus: config.maxvcpus ?? config.vcpus,
      state: active ? stateOf(flags) : "------",
      flags: active ? flags : { ...NO_FLAGS },
      cpuTime: init.cpuTime ?? 0,
      startTime: active ? 1_700_000_000 + this.doms.length : 0,
      managed: init.managed ?? false,
      config,
      vcpuInfo: [],
    };
    this.refreshVcpus(d);
    this.doms.push(d);
    return d;
  }

  private uuid(): string {
    return `00000000-0000-4000-8000-${(this.nextUuid++).toString(16).padStart(12, "0")}`;
  }

  private refreshVcpus(d: DomainSummary): void {
    d.vcpuInfo = d.domid === null ? [] : Array.from({ length: d.vcpus }, (_, i) => ({
      number: i,
      online: true,
      running: d.flags.running && i === 0,
      blocked: !d.flags.paused,
      cpuTimeNs: Math.round(d.cpuTime * 1e9 / Math.max(1, d.vcpus)),
      cpu: i % 4,
      affinity: d.vcpuInfo[i]?.affinity ?? [],
    }));
  }

  private setFlags(d: DomainSummary, flags: Partial<DomainStateFlags>): void {
    d.flags = { ...NO_FLAGS, ...flags };
    d.state = stateOf(d.flags);
    this.refreshVcpus(d);
  }

  private find(dom: string | number): DomainSummary {
    const s = String(dom);
    const d = this.doms.find((x) => x.name === s) ??
      (/^\d+$/.test(s) ? this.doms.find((x) => x.domid === Number(s)) : undefined) ??
      this.doms.find((x) => x.uuid === s);
    if (!d) throw new XvmError("DOMAIN_NOT_FOUND", { dom: s });
    return d;
  }

  private active(d: DomainSummary, action: string): void {
    if (d.domid === null) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "not running", action });
  }

  private unprivileged(d: DomainSummary, action: string): void {
    if (d.domid === 0) throw new XvmError("DOMAIN_PRIVILEGED", { action, dom: d.name });
  }

  private record(what: string, args: unknown[]): void {
    const line = [what, ...args.map((a) => (typeof a === "string" ? a : JSON.stringify(a)))].join(" ");
    this.mutations.push(line);
    this.calls.push(line);
  }

  private copy(d: DomainSummary): DomainSummary {
    return structuredClone(d);
  }

  /** A string that changes whenever any domain changes. */
  snapshot(): string {
    return JSON.stringify(this.doms);
  }

  private remove(d: DomainSummary): void {
    if (d.managed) {
      d.domid = null;
      this.setFlags(d, {});
      d.state = "------";
      d.vcpuInfo = [];
    } else this.doms.splice(this.doms.indexOf(d), 1);
  }

  async list(): Promise<DomainSummary[]> {
    this.calls.push("list");
    return this.doms.map((d) => this.copy(d));
  }

  async get(dom: string | number): Promise<DomainSummary> {
    this.calls.push(`get ${dom}`);
    return this.copy(this.find(dom));
  }

  async create(config: DomainConfig, options?: { paused?: boolean }): Promise<DomainSummary> {
    this.record("create", [config.name, options ?? {}]);
    const existing = this.doms.find((d) => d.name === config.name);
    if (existing) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: existing.domid ?? "" });
    if (!(config.memory > 0)) throw new XvmError("DOMAIN_CONFIG", { detail: `memory must be positive, not ${config.memory}` });
    const d = this.add({ ...config, paused: options?.paused });
    d.config = structuredClone(config);
    if (!config.uuid) d.config.uuid = d.uuid;
    return this.copy(d);
  }

  async destroy(dom: string | number): Promise<void> {
    this.record("destroy", [dom]);
    const d = this.find(dom);
    this.unprivileged(d, "destroy");
    this.active(d, "destroy");
    this.remove(d);
  }

  async pause(dom: string | number): Promise<void> {
    this.record("pause", [dom]);
    const d = this.find(dom);
    this.unprivileged(d, "pause");
    this.active(d, "pause");
    if (d.flags.paused) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "paused", action: "pause" });
    this.setFlags(d, { paused: true });
  }

  async unpause(dom: string | number): Promise<void> {
    this.record("unpause", [dom]);
    const d = this.find(dom);
    this.active(d, "unpause");
    if (!d.flags.paused) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "not paused", action: "unpause" });
    this.setFlags(d, { blocked: true });
  }

  async shutdown(dom: string | number, reason: "poweroff" | "halt" | "reboot" | "suspend"): Promise<void> {
    this.record("shutdown", [dom, reason]);
    const d = this.find(dom);
    this.unprivileged(d, "shut down");
    this.active(d, "shut down");
    if (reason !== "reboot") this.remove(d);
  }

  async rename(dom: string | number, newName: string): Promise<void> {
    this.record("rename", [dom, newName]);
    const d = this.find(dom);
    this.unprivileged(d, "rename");
    if (!/^[A-Za-z0-9_.:-]+$/.test(newName)) throw new XvmError("DOMAIN_CONFIG", { detail: `invalid domain name '${newName}'` });
    const other = this.doms.find((x) => x.name === newName);
    if (other && other !== d) throw new XvmError("DOMAIN_EXISTS", { name: newName, domid: other.domid ?? "" });
    d.name = newName;
    d.config.name = newName;
  }

  async setMemoryTarget(dom: string | number, mib: number): Promise<void> {
    this.record("setMemoryTarget", [dom, mib]);
    const d = this.find(dom);
    if (mib < 1 || mib > d.maxmem) throw new XvmError("NO_MEMORY", { detail: `memory target ${mib} MiB is not within 1..${d.maxmem} MiB` });
    d.memory = mib;
  }

  async setMaxMemory(dom: string | number, mib: number): Promise<void> {
    this.record("setMaxMemory", [dom, mib]);
    const d = this.find(dom);
    if (mib < d.memory) throw new XvmError("NO_MEMORY", { detail: `maximum ${mib} MiB is below the current ${d.memory} MiB` });
    d.maxmem = mib;
  }

  async setVcpus(dom: string | number, count: number): Promise<void> {
    this.record("setVcpus", [dom, count]);
    const d = this.find(dom);
    if (count < 1 || count > d.maxvcpus) throw new XvmError("NO_VCPUS", { detail: `vcpus must be within 1..${d.maxvcpus}, not ${count}` });
    d.vcpus = count;
    this.refreshVcpus(d);
  }

  async setSchedCredit(dom: string | number, change: { weight?: number; cap?: number }): Promise<{ weight: number; cap: number }> {
    this.record("setSchedCredit", [dom, change.weight ?? "-", change.cap ?? "-"]);
    const d = this.find(dom);
    const keys = d.config.extraKeys ?? {};
    const next = { weight: change.weight ?? Number(keys.cpu_weight ?? 256), cap: change.cap ?? Number(keys.cpu_cap ?? 0) };
    if (next.weight < 1 || next.weight > 65535) throw new XvmError("DOMAIN_CONFIG", { detail: `weight ${next.weight} is out of range` });
    d.config = { ...d.config, extraKeys: { ...keys, cpu_weight: next.weight, cpu_cap: next.cap } };
    return next;
  }

  async pinVcpu(dom: string | number, vcpu: number | "all", cpus: number[] | "all"): Promise<void> {
    this.record("pinVcpu", [dom, vcpu, cpus]);
    const d = this.find(dom);
    this.active(d, "pin");
    if (vcpu !== "all" && vcpu >= d.vcpus) throw new XvmError("NO_VCPUS", { detail: `domain ${d.name} has no vcpu ${vcpu}` });
    if (cpus !== "all" && cpus.some((c) => c >= 4)) throw new XvmError("NO_VCPUS", { detail: `no physical cpu ${Math.max(...cpus)}` });
    for (const v of d.vcpuInfo) if (vcpu === "all" || v.number === vcpu) v.affinity = cpus === "all" ? [] : cpus;
  }

  async sysrq(dom: string | number, key: string): Promise<void> {
    this.record("sysrq", [dom, key]);
    const d = this.find(dom);
    this.active(d, "send sysrq to");
    this.sysrqs.push(`${d.name}:${key}`);
    if (key === "c") this.setFlags(d, { crashed: true });
  }

  async define(config: DomainConfig): Promise<DomainSummary> {
    this.record("define", [config.name]);
    if (this.doms.some((d) => d.name === config.name)) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: "" });
    const d = this.add({ ...config, active: false, managed: true });
    return this.copy(d);
  }

  async start(dom: string | number, options?: { paused?: boolean }): Promise<DomainSummary> {
    this.record("start", [dom, options ?? {}]);
    const d = this.find(dom);
    if (d.domid !== null) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "running", action: "start" });
    d.domid = this.nextDomid++;
    this.setFlags(d, options?.paused ? { paused: true } : { blocked: true });
    return this.copy(d);
  }

  async undefine(dom: string | number): Promise<void> {
    this.record("undefine", [dom]);
    const d = this.find(dom);
    if (d.domid !== null) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "running", action: "delete" });
    this.doms.splice(this.doms.indexOf(d), 1);
  }

  async guest(dom: string | number): Promise<GuestInfo> {
    this.calls.push(`guest ${dom}`);
    const d = this.find(dom);
    this.active(d, "inspect");
    return {
      domid: d.domid!, name: d.name, uuid: d.uuid, ...d.flags,
      memoryKiB: d.memory * 1024, maxMemKiB: d.maxmem * 1024, targetKiB: d.memory * 1024,
      vcpus: d.vcpuInfo, maxVcpus: d.maxvcpus, cpuTimeNs: d.cpuTime * 1e9, startTime: d.startTime, meta: {},
    };
  }

  setHostResources(update: HostResources): void {
    this.record("setHostResources", [update]);
  }


  /** A host of 4 CPUs and 8 GiB; free memory is what no running domain (Domain-0 included) holds. */
  async nodeInfo(): Promise<NodeInfo> {
    this.calls.push("nodeInfo");
    const used = this.doms.reduce((s, d) => s + (d.domid === null ? 0 : d.memory), 0);
    return {
      host: "double", release: "5.10.0-sim", version: "#1 SMP", machine: "x86_64", nr_cpus: 4, nr_nodes: 1,
      cores_per_socket: 2, threads_per_core: 2, cpu_mhz: 2400, hw_caps: "", total_memory: 8192, free_memory: 8192 - used,
      node_to_cpu: "node0:0-3", xen_major: 3, xen_minor: 4, xen_extra: ".0-sim", xen_caps: "xen-3.0-x86_64",
      xen_scheduler: "credit", xen_pagesize: 4096, xend_config_format: 4,
    };
  }

  async consoleRead(dom: string | number): Promise<string> {
    this.calls.push(`consoleRead ${dom}`);
    return `console of ${this.find(dom).name}\n`;
  }

  async consoleWrite(dom: string | number, data: string): Promise<void> {
    this.record("consoleWrite", [dom, data]);
    this.find(dom);
  }

  async watchConsole(dom: string | number): Promise<ConsoleWatch> {
    this.find(dom);
    return { onData() {}, onEnd() {}, close() {} };
  }

  async trigger(dom: string | number, trigger: DomainTrigger, vcpu?: number): Promise<void> {
    this.record("trigger", [dom, trigger, vcpu ?? 0]);
    this.active(this.find(dom), `trigger ${trigger} on`);
  }

  dmesg(clear?: boolean): string {
    const text = this.dmesgRing.map((l) => l + "\n").join("");
    if (clear) {
      this.record("dmesg-clear", []);
      this.dmesgRing.length = 0;
    }
    return text;
  }
}
