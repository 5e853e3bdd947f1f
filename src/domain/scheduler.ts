/**
 * The credit scheduler's parameters of each domain (`xm sched-credit`): weight 1..65535 (default
 * 256) and cap, percent of one physical CPU, 0 = none, at most 100 per vCPU. They live in the
 * domain's config as xm wrote them (`cpu_weight`, `cpu_cap`: shown by `xm list -l`, kept for a
 * managed domain) and, for a running domain, in the hypervisor driver, which enforces them
 * (HypervisorDriver.setSchedParams). Domain-0 is this host: its values are kept and shown, but
 * nothing schedules it.
 */
import { XvmError } from "../errors.ts";
import { SCHED_DEFAULTS, type SchedParams } from "../hypervisor/driver.ts";
import type { DomainModel } from "./model.ts";
import { changeInactive } from "./resources.ts";
import type { DomainConfig } from "./types.ts";

export const WEIGHT_MIN = 1;
export const WEIGHT_MAX = 65535;

/** A config's weight and cap (`cpu_weight`, `cpu_cap`; numbers or numeric strings, as xm took them). */
export function schedOf(config: Pick<DomainConfig, "extraKeys">): SchedParams {
  const num = (v: unknown, fallback: number) => (typeof v === "number" ? v : typeof v === "string" && /^\s*-?\d+\s*$/.test(v) ? Number(v) : fallback);
  return { weight: num(config.extraKeys?.cpu_weight, SCHED_DEFAULTS.weight), cap: num(config.extraKeys?.cpu_cap, SCHED_DEFAULTS.cap) };
}

/** Why a weight is refused, or undefined. */
export function weightProblem(weight: number): string | undefined {
  if (!Number.isInteger(weight) || weight < WEIGHT_MIN || weight > WEIGHT_MAX) return `weight ${weight} is out of range: give ${WEIGHT_MIN} to ${WEIGHT_MAX} (default ${SCHED_DEFAULTS.weight})`;
  return undefined;
}

/** Why a cap is refused for a domain with `vcpus` vCPUs, or undefined. */
export function capProblem(cap: number, vcpus: number): string | undefined {
  if (!Number.isInteger(cap) || cap < 0 || cap > 100 * vcpus) {
    return `cap ${cap} is out of range: give 0 (no cap) to ${100 * vcpus} (100 per vCPU, ${vcpus} vCPU${vcpus === 1 ? "" : "s"})`;
  }
  return undefined;
}

export interface SchedChange {
  weight?: number;
  cap?: number;
}

/** Domain-0's values (nothing enforces them: Domain-0 is this host). */
const dom0Sched = new WeakMap<DomainModel, SchedParams>();

export async function schedCredit(m: DomainModel, dom: string | number): Promise<SchedParams> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") return { ...(dom0Sched.get(m) ?? SCHED_DEFAULTS) };
  if (found.kind === "inactive") return schedOf(found.config);
  const rec = found.rec;
  if (!rec.lost) {
    try {
      const info = await m.driver.info(rec.domid);
      if (info.sched) return { ...info.sched };
    } catch {
      // a guest going away: its config has the same values
    }
  }
  return schedOf(rec.config);
}

/** Sets weight and/or cap; checks both before changing anything. Returns the values in force. */
export async function setSchedCredit(m: DomainModel, dom: string | number, change: SchedChange): Promise<SchedParams> {
  if (change.weight !== undefined) {
    const p = weightProblem(change.weight);
    if (p) throw new XvmError("DOMAIN_CONFIG", { detail: p });
  }
  const found = m.resolve(dom);
  if (found.kind === "dom0") {
    const next = { ...(dom0Sched.get(m) ?? SCHED_DEFAULTS), ...definedOf(change) };
    const p = capProblem(next.cap, (await m.physInfo()).nrCpus);
    if (p) throw new XvmError("DOMAIN_CONFIG", { detail: p });
    dom0Sched.set(m, next);
    m.log.info(`Domain Domain-0 (0): weight ${next.weight}, cap ${next.cap}`);
    return next;
  }
  const keys = (s: SchedParams) => ({ cpu_weight: s.weight, cpu_cap: s.cap });
  if (found.kind === "inactive") {
    let next = schedOf(found.config);
    await changeInactive(m, found.config, "set the scheduler parameters of", (c) => {
      next = { ...schedOf(c), ...definedOf(change) };
      const p = capProblem(next.cap, c.vcpus);
      if (p) throw new XvmError("DOMAIN_CONFIG", { detail: p });
      return { extraKeys: { ...c.extraKeys, ...keys(next) } };
    });
    return next;
  }
  return m.withDomain(found.rec.domid, "set the scheduler parameters of", async (rec) => {
    const info = await m.requireLive(rec, "set the scheduler parameters of");
    const next = { ...(info.sched ?? schedOf(rec.config)), ...definedOf(change) };
    const online = info.vcpus.filter((v) => v.online).length || rec.config.vcpus;
    const p = capProblem(next.cap, online);
    if (p) throw new XvmError("DOMAIN_CONFIG", { detail: p });
    if (!m.driver.setSchedParams) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `the credit scheduler on the ${m.driver.name} driver` });
    await m.driver.setSchedParams(rec.domid, next);
    await m.updateConfig(rec, { extraKeys: { ...rec.config.extraKeys, ...keys(next) } });
    m.log.info(`Domain ${rec.config.name} (${rec.domid}): weight ${next.weight}, cap ${next.cap}`);
    return next;
  });
}

function definedOf(change: SchedChange): Partial<SchedParams> {
  const out: Partial<SchedParams> = {};
  if (change.weight !== undefined) out.weight = change.weight;
  if (change.cap !== undefined) out.cap = change.cap;
  return out;
}
