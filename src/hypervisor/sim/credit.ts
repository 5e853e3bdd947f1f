/**
 * The simulated hypervisor's credit scheduler: from every guest's weight and cap, and which of its
 * vCPUs want the CPU, the share of one physical CPU each vCPU may use (its "limit", 1..100 %). A
 * vCPU runs its program for `limit` % of each timeslice and blocks for the rest (vcpu.ts), so a
 * limit is real CPU time given up, visible in `xm list`, `xm top` and `xm vcpu-list`.
 *
 * As Xen's credit scheduler:
 * - a cap (percent of one CPU, 0 = none) bounds the guest's vCPUs together, whatever is idle;
 * - when busy vCPUs want more than the CPUs they may run on, each guest gets CPU in proportion to
 *   its weight, split evenly over its busy vCPUs there; a guest held below its share (by its cap,
 *   or because one vCPU cannot use more than one CPU) leaves the rest to the others
 *   (work-conserving);
 * - vCPUs that do not want the CPU (idle, blocked programs) are not limited, except by the cap.
 *
 * Which vCPUs compete: the busy vCPUs whose allowed CPUs (affinity; empty = any) overlap form a
 * pool, with as many CPUs as their allowed CPUs cover. This is exact for the cases that matter
 * (guests pinned to the same CPUs, or all free to run anywhere) and an approximation for mixed
 * partial overlaps. Which vCPUs are busy is known from the guest program (see programs.ts:
 * `cpuBound`): the simulator does not need to measure demand.
 */
import type { SchedParams } from "../driver.ts";

export interface CreditVcpu {
  /** Wants the CPU all the time (a CPU-bound program on an online vCPU of a running guest). */
  busy: boolean;
  /** Allowed physical CPUs; empty = any. */
  affinity: readonly number[];
}

export interface CreditGuest {
  domid: number;
  sched: SchedParams;
  /** Online vCPUs only, in vCPU order. */
  vcpus: readonly CreditVcpu[];
}

/** Percent of one CPU each online vCPU of each guest may use, by domid (100 = unlimited). */
export type CreditLimits = Map<number, number[]>;

const FULL = 100;

/** The cap's share for each vCPU of a guest: a cap spreads over the vCPUs that use it. */
function capPerVcpu(g: CreditGuest): number {
  if (g.sched.cap <= 0) return FULL;
  const users = g.vcpus.filter((v) => v.busy).length || g.vcpus.length || 1;
  return Math.min(FULL, g.sched.cap / users);
}

interface Slot {
  domid: number;
  index: number;
  weight: number;
  /** Most this vCPU may get: 100, or less under a cap. */
  demand: number;
  cpus: Set<number> | "any";
  share: number;
}

/** Groups busy vCPUs whose allowed CPUs overlap; each pool with the CPUs it covers. */
function pools(slots: Slot[], nrCpus: number): { slots: Slot[]; cpus: number }[] {
  const parent = slots.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const overlap = (a: Slot, b: Slot) => a.cpus === "any" || b.cpus === "any" || [...a.cpus].some((c) => (b.cpus as Set<number>).has(c));
  for (let i = 0; i < slots.length; i++) {
    for (let j = i + 1; j < slots.length; j++) if (overlap(slots[i]!, slots[j]!)) parent[find(i)] = find(j);
  }
  const groups = new Map<number, Slot[]>();
  slots.forEach((s, i) => {
    const root = find(i);
    groups.set(root, [...(groups.get(root) ?? []), s]);
  });
  return [...groups.values()].map((group) => {
    const covered = group.some((s) => s.cpus === "any") ? nrCpus : new Set(group.flatMap((s) => [...(s.cpus as Set<number>)])).size;
    return { slots: group, cpus: Math.max(1, Math.min(covered, nrCpus)) };
  });
}

/**
 * Water-filling by weight inside one pool: each guest's portion of the capacity is proportional to
 * its weight and split evenly over its vCPUs; a vCPU whose portion exceeds its demand keeps only
 * its demand and the rest is shared again among the others.
 */
function fill(slots: Slot[], capacity: number): void {
  let left = capacity;
  let open = [...slots];
  while (open.length > 0) {
    const byGuest = new Map<number, Slot[]>();
    for (const s of open) byGuest.set(s.domid, [...(byGuest.get(s.domid) ?? []), s]);
    const totalWeight = [...byGuest.values()].reduce((sum, list) => sum + list[0]!.weight, 0);
    const portion = (s: Slot) => (left * s.weight) / totalWeight / byGuest.get(s.domid)!.length;
    const satisfied = open.filter((s) => portion(s) >= s.demand);
    if (satisfied.length === 0) {
      for (const s of open) s.share = portion(s);
      return;
    }
    for (const s of satisfied) {
      s.share = s.demand;
      left -= s.demand;
    }
    open = open.filter((s) => !satisfied.includes(s));
    if (left <= 0) {
      for (const s of open) s.share = 0;
      return;
    }
  }
}

/** Each online vCPU's limit, rounded to whole percent, at least 1. */
export function allocate(nrCpus: number, guests: readonly CreditGuest[]): CreditLimits {
  const limits: CreditLimits = new Map();
  const busy: Slot[] = [];
  for (const g of guests) {
    const cap = capPerVcpu(g);
    limits.set(g.domid, g.vcpus.map(() => cap));
    g.vcpus.forEach((v, index) => {
      if (!v.busy) return;
      busy.push({
        domid: g.domid, index, weight: Math.max(1, g.sched.weight), demand: cap,
        cpus: v.affinity.length === 0 ? "any" : new Set(v.affinity), share: cap,
      });
    });
  }
  for (const pool of pools(busy, Math.max(1, nrCpus))) {
    const capacity = pool.cpus * FULL;
    const wanted = pool.slots.reduce((sum, s) => sum + s.demand, 0);
    if (wanted > capacity) fill(pool.slots, capacity);
    for (const s of pool.slots) limits.get(s.domid)![s.index] = s.share;
  }
  for (const [domid, list] of limits) limits.set(domid, list.map((x) => Math.max(1, Math.min(FULL, Math.round(x)))));
  return limits;
}
