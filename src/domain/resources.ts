/**
 * Memory and CPUs: `xm mem-set`, `mem-max`, `vcpu-set`, `vcpu-pin` on running, inactive managed and
 * Domain-0 domains, and the host figures (`xm info`, what plugins set for Domain-0). Memory changes
 * share the resources queue with creations so that two of them never count the same free memory.
 */
import { XvmError } from "../errors.ts";
import { checkDomainConfig } from "./config-spec.ts";
import { formatCpuList } from "./cpus.ts";
import { nodeInfo as hostNodeInfo } from "./host.ts";
import type { DomainModel } from "./model.ts";
import { type FullConfig, mib } from "./records.ts";
import { dom0Summary, summaryOf } from "./summaries.ts";
import type { DomainConfig, NodeInfo } from "./types.ts";

export async function setMemoryTarget(m: DomainModel, dom: string | number, target: number): Promise<void> {
  if (!Number.isInteger(target) || target < 1) throw new XvmError("DOMAIN_CONFIG", { detail: `Invalid memory size: ${target} MiB (a whole number of MiB, at least 1)` });
  const found = m.resolve(dom);
  if (found.kind === "dom0") {
    await m.resources(async () => {
      const phys = await m.physInfo();
      const left = mib(Math.max(0, m.host.memory(phys, m.guestsKiB()).totalKiB - m.guestsKiB()));
      if (target > left) {
        throw new XvmError("NO_MEMORY", { detail: `Domain-0 cannot have ${target} MiB: guests hold all but ${left} MiB of the host's memory.` });
      }
      await m.fireHook("domainPreMemoryChange", await dom0Summary(m), target);
      m.host.set({ dom0MemoryKiB: target * 1024 });
      m.log.info(`Domain-0 memory target set to ${target} MiB`);
    });
    await m.fireQuietly("domainMemoryChanged", await dom0Summary(m), target);
    return;
  }
  if (found.kind === "inactive") {
    await changeInactive(m, found.config, "set memory of", (c) => {
      const maxmem = c.maxmem ?? c.memory;
      if (target > maxmem) throw new XvmError("DOMAIN_CONFIG", { detail: `memory target ${target} MiB is above the maximum ${maxmem} MiB of domain '${c.name}' (raise it with xm mem-max)` });
      return { memory: target };
    });
    return;
  }
  // The domain's queue first, then the resources queue: the order every other path takes (a crash
  // handler restarting a domain holds its queue and then needs the resources queue).
  const summary = await m.queue(found.rec.domid, () => m.resources(async () => {
    const rec = found.rec;
    if (m.active.get(rec.domid) !== rec) throw new XvmError("DOMAIN_NOT_FOUND", { dom: String(dom) });
    const info = await m.requireLive(rec, "set memory of");
    const maxmem = mib(info.maxMemKiB);
    if (target > maxmem) throw new XvmError("DOMAIN_CONFIG", { detail: `memory target ${target} MiB is above the maximum ${maxmem} MiB of domain '${rec.config.name}' (raise it with xm mem-max)` });
    const current = info.targetKiB;
    await m.fireHook("domainPreMemoryChange", await summaryOf(m, rec), target);
    if (target * 1024 > current) {
      const phys = await m.physInfo();
      const available = m.host.available(phys, m.guestsKiB());
      if (target * 1024 - current > available) {
        throw new XvmError("NO_MEMORY", { detail: `Not enough memory to grow domain '${rec.config.name}' to ${target} MiB: it needs ${target * 1024 - current} KiB more, only ${available} KiB are available.` });
      }
    }
    await m.driver.setMemoryTarget(rec.domid, target * 1024);
    rec.targetKiB = target * 1024;
    await m.updateConfig(rec, { memory: target });
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) memory target set to ${target} MiB`);
    return summaryOf(m, rec);
  }));
  await m.fireQuietly("domainMemoryChanged", summary, target);
}

export async function setMaxMemory(m: DomainModel, dom: string | number, maxmem: number): Promise<void> {
  if (!Number.isInteger(maxmem) || maxmem < 1) throw new XvmError("DOMAIN_CONFIG", { detail: `Invalid maximum memory: ${maxmem} MiB (a whole number of MiB, at least 1)` });
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "set the maximum memory of", dom: 0 });
  if (found.kind === "inactive") {
    await changeInactive(m, found.config, "set maximum memory of", (c) => {
      if (maxmem < c.memory) throw new XvmError("DOMAIN_CONFIG", { detail: `maximum ${maxmem} MiB is below the memory of domain '${c.name}' (${c.memory} MiB)` });
      return { maxmem };
    });
    return;
  }
  await m.withDomain(found.rec.domid, "set maximum memory of", async (rec) => {
    const info = await m.requireLive(rec, "set maximum memory of");
    if (maxmem * 1024 < info.targetKiB) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `maximum ${maxmem} MiB is below the current memory of domain '${rec.config.name}' (${mib(info.targetKiB)} MiB); lower it first with xm mem-set` });
    }
    await m.driver.setMaxMemory(rec.domid, maxmem * 1024);
    await m.updateConfig(rec, { maxmem });
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) maximum memory set to ${maxmem} MiB`);
  });
}

export async function setVcpus(m: DomainModel, dom: string | number, count: number): Promise<void> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") {
    // As xend 3.4 (setVCpuCount on dom0): the first `count` of Domain-0's vCPUs stay online, up to
    // the vCPUs config/dom0-cpus gives it.
    const max = m.host.dom0MaxVcpus(await m.physInfo());
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new XvmError("NO_VCPUS", { detail: `Domain 'Domain-0' can have 1 to ${max} vCPUs (config/dom0-cpus), not ${count}.` });
    }
    m.host.setDom0Online(count);
    m.log.info(`Domain Domain-0 (0) now has ${count} vCPU(s) online`);
    return;
  }
  const check = (name: string, max: number) => {
    if (!Number.isInteger(count) || count < 1 || count > max) {
      throw new XvmError("NO_VCPUS", { detail: `Domain '${name}' can have 1 to ${max} vCPUs (maxvcpus), not ${count}.` });
    }
  };
  if (found.kind === "inactive") {
    await changeInactive(m, found.config, "set the vCPUs of", (c) => {
      check(c.name, c.maxvcpus ?? c.vcpus);
      return { vcpus: count };
    });
    return;
  }
  await m.withDomain(found.rec.domid, "set the vCPUs of", async (rec) => {
    const info = await m.requireLive(rec, "set the vCPUs of");
    check(rec.config.name, info.maxVcpus);
    await m.driver.setVcpus(rec.domid, count);
    await m.updateConfig(rec, { vcpus: count });
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) now has ${count} vCPU(s)`);
  });
}

export async function pinVcpu(m: DomainModel, dom: string | number, vcpu: number | "all", cpus: number[] | "all"): Promise<void> {
  await m.withDomain(dom, "pin the vCPUs of", async (rec) => {
    const info = await m.requireLive(rec, "pin the vCPUs of");
    const phys = await m.physInfo();
    const list = cpus === "all" ? [] : [...new Set(cpus)].sort((a, b) => a - b);
    if (cpus !== "all") {
      if (list.length === 0) throw new XvmError("DOMAIN_CONFIG", { detail: "the CPU list is empty" });
      const missing = list.filter((c) => !Number.isInteger(c) || c < 0 || c >= phys.nrCpus);
      if (missing.length) throw new XvmError("DOMAIN_CONFIG", { detail: `CPU ${missing.join(",")} does not exist on this host (it has ${phys.nrCpus})` });
    }
    const vcpus = vcpu === "all" ? Array.from({ length: info.maxVcpus }, (_, i) => i) : [vcpu];
    for (const v of vcpus) {
      if (!Number.isInteger(v) || v < 0 || v >= info.maxVcpus) {
        throw new XvmError("DOMAIN_CONFIG", { detail: `Domain '${rec.config.name}' has no vCPU ${v} (it has ${info.maxVcpus}: 0-${info.maxVcpus - 1})` });
      }
    }
    for (const v of vcpus) await m.driver.pinVcpu(rec.domid, v, list);
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) vCPU ${vcpu} pinned to ${cpus === "all" ? "any CPU" : formatCpuList(list)}`);
  });
}

export async function nodeInfo(m: DomainModel): Promise<NodeInfo> {
  // Host figures that can change (uname) are read again; memory comes from the accounting.
  const phys = await m.physInfo();
  return hostNodeInfo(phys, m.host.memory(phys, m.guestsKiB()));
}

/** Changes a stored config of an inactive managed domain. */
export async function changeInactive(m: DomainModel, config: FullConfig, action: string, change: (c: FullConfig) => Partial<DomainConfig>): Promise<void> {
  await m.resources(async () => {
    const current = m.managed.get(config.uuid);
    if (!current || m.activeByUuid(config.uuid)) throw new XvmError("DOMAIN_BAD_STATE", { dom: config.name, state: "changing", action });
    const next = { ...current, ...change(current) } as FullConfig;
    const problems = checkDomainConfig(next);
    if (problems.length) throw new XvmError("DOMAIN_CONFIG", { detail: problems.map((p) => `${p.field} ${p.message}`).join("; ") });
    m.managed.set(next.uuid, next);
    m.saveManaged(next);
  });
}
