/** How a domain is shown (`xm list`, the API, hooks): a running guest, an inactive managed one, Domain-0. */
import { recentInfo } from "../hypervisor/info-cache.ts";
import { isSuspended } from "./checkpoint.ts";
import { cpuBusyNs, hostBootTime } from "./host.ts";
import type { DomainModel } from "./model.ts";
import { type Active, DOM0_NAME, DOM0_UUID, type FullConfig, mib } from "./records.ts";
import { NO_FLAGS, stateString } from "./state.ts";
import type { DomainStateFlags, DomainSummary } from "./types.ts";

/**
 * The copy of a config that summaries carry, made once per config: a record's config is replaced,
 * never changed in place (model.ts update, devices.ts, stop-actions.ts), so the copy stays right
 * as long as the record holds that object. Frozen, so that no reader can change what the next one
 * sees. Copying it per summary cost a listing of 20 domains more than everything else it does.
 */
const configCopies = new WeakMap<FullConfig, FullConfig>();

export function configCopy(config: FullConfig): FullConfig {
  let copy = configCopies.get(config);
  if (!copy) {
    copy = deepFreeze(structuredClone(config));
    configCopies.set(config, copy);
  }
  return copy;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export async function summaryOf(m: DomainModel, rec: Active): Promise<DomainSummary> {
  let info = rec.info;
  if (!rec.lost && !rec.dying) {
    try {
      // A listing asks every guest: an answer the driver had moments ago, with nothing done to
      // the guest since, is as good (src/hypervisor/info-cache.ts says how old it can be).
      info = await recentInfo(m.driver, rec.domid);
      rec.info = info;
      rec.targetKiB = info.targetKiB;
    } catch {
      // the runner cannot answer (gone, stuck): report what was last known
    }
  }
  let online = rec.config.vcpus;
  if (info) {
    online = 0;
    for (const v of info.vcpus) if (v.online) online++;
  }
  const flags: DomainStateFlags = rec.destroyed
    ? { ...NO_FLAGS, crashed: rec.stopReason === "crashed", dying: true }
    : info && !rec.lost
    ? { running: info.running, blocked: info.blocked, paused: info.paused, shutdown: info.shutdown, crashed: info.crashed, dying: info.dying || rec.dying }
    : { ...NO_FLAGS, crashed: rec.lost, dying: rec.dying };
  const summary: DomainSummary = {
    domid: rec.domid,
    name: rec.config.name,
    uuid: rec.config.uuid,
    memory: rec.lost ? 0 : mib(info?.targetKiB ?? rec.targetKiB),
    maxmem: mib(info?.maxMemKiB ?? (rec.config.maxmem ?? rec.config.memory) * 1024),
    vcpus: online || rec.config.vcpus,
    maxvcpus: info?.maxVcpus ?? rec.config.maxvcpus ?? rec.config.vcpus,
    state: stateString(flags),
    flags,
    cpuTime: (info?.cpuTimeNs ?? 0) / 1e9,
    startTime: rec.startTime,
    managed: rec.managed,
    config: configCopy(rec.config),
    vcpuInfo: info?.vcpus ?? [],
    restartCount: rec.restartCount,
  };
  if (info?.pid !== undefined && !rec.lost) summary.pid = info.pid;
  if (info?.vbdStats && !rec.lost) summary.vbdStats = info.vbdStats;
  if (!rec.lost && !rec.destroyed) {
    const overhead = m.overheadKiB(rec.config.maxvcpus ?? rec.config.vcpus);
    if (overhead > 0) summary.overheadKiB = overhead;
  }
  if (rec.shutdownRequest?.unresponsive) summary.unresponsive = m.shutdownTimeout;
  if (rec.stopHandled && rec.stopReason) summary.shutdownReason = info?.shutdownReason ?? (rec.lost ? "crash" : rec.stopReason);
  return summary;
}

export function inactiveSummary(config: FullConfig, suspended = false): DomainSummary {
  return {
    ...(suspended ? { suspended: true } : {}),
    domid: null, name: config.name, uuid: config.uuid, memory: config.memory, maxmem: config.maxmem ?? config.memory,
    vcpus: config.vcpus, maxvcpus: config.maxvcpus ?? config.vcpus, state: stateString(NO_FLAGS), flags: { ...NO_FLAGS },
    cpuTime: 0, startTime: 0, managed: true, config: configCopy(config), vcpuInfo: [], restartCount: 0,
  };
}

/** Domain-0's config, one frozen object while its figures stay the same (as configCopy's). */
let dom0Kept: { key: string; config: FullConfig } | undefined;

function dom0Config(memory: number, maxmem: number, vcpus: number, maxvcpus: number): FullConfig {
  const key = `${memory} ${maxmem} ${vcpus} ${maxvcpus}`;
  if (dom0Kept?.key !== key) {
    const config = {
      name: DOM0_NAME, uuid: DOM0_UUID, memory, maxmem, vcpus, maxvcpus, kernel: "",
      on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [],
    } as FullConfig;
    dom0Kept = { key, config: deepFreeze(config) };
  }
  return dom0Kept.config;
}

export async function dom0Summary(m: DomainModel): Promise<DomainSummary> {
  const phys = await m.physInfo();
  const figures = m.host.memory(phys, m.guestsKiB());
  const vcpus = m.host.dom0Vcpus(phys);
  const online = vcpus.filter((v) => v.online).length;
  const flags = { ...NO_FLAGS, running: true };
  return {
    domid: 0, name: DOM0_NAME, uuid: DOM0_UUID, memory: mib(figures.dom0KiB), maxmem: mib(figures.totalKiB), vcpus: online, maxvcpus: phys.nrCpus,
    state: stateString(flags), flags, cpuTime: vcpus.reduce((s, v) => s + v.cpuTimeNs, 0) / 1e9 || cpuBusyNs().reduce((a, b) => a + b, 0) / 1e9,
    startTime: hostBootTime(), managed: false,
    config: dom0Config(mib(figures.dom0KiB), mib(figures.totalKiB), online, phys.nrCpus),
    vcpuInfo: vcpus, pid: process.pid, restartCount: 0,
  };
}

/** Every domain, Domain-0 and inactive managed ones included, sorted by name as xend listed them. */
export async function listDomains(m: DomainModel): Promise<DomainSummary[]> {
  const out = [await dom0Summary(m), ...(await Promise.all([...m.active.values()].map((r) => summaryOf(m, r))))];
  for (const c of m.managed.values()) if (!m.activeByUuid(c.uuid)) out.push(inactiveSummary(c, isSuspended(m, c.uuid)));
  // xend listed domains sorted by name (XendDomain.list_sorted).
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function getDomain(m: DomainModel, dom: string | number): Promise<DomainSummary> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") return dom0Summary(m);
  if (found.kind === "inactive") return inactiveSummary(found.config, isSuspended(m, found.config.uuid));
  return summaryOf(m, found.rec);
}
