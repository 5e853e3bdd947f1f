/**
 * CPU lists as xm and xm config files write them: `0-3,^1`, `2`, `all`, and back
 * (`0-1,4,6-7`, or `any cpu` when a map covers every CPU, as `xm vcpu-list` printed it).
 */
import { CpuListError, formatCpuRanges, parseCpuList as parseCpus } from "../formats/cpu-list.ts";

/** Parses `0-3,^1,6` into a sorted, de-duplicated list. Throws with a readable message. */
export function parseCpuList(spec: string): number[] {
  try {
    return parseCpus(spec);
  } catch (error) {
    if (error instanceof CpuListError && error.problem === "syntax") throw new Error(`${error.message} (e.g. 0-3,^1)`);
    throw error;
  }
}

/** `[0,1,2,3]` -> `0-3`; `[1,2,4,5]` -> `1-2,4-5`; `[]` -> `no cpus`. */
export function formatCpuList(cpus: readonly number[]): string {
  return cpus.length === 0 ? "no cpus" : formatCpuRanges(cpus);
}

/** xm's affinity column: `any cpu` when the map (an empty map means any) covers all host CPUs. */
export function formatAffinity(cpus: readonly number[], nrCpus: number): string {
  if (cpus.length === 0) return "any cpu";
  const inRange = cpus.filter((c) => c < nrCpus);
  if (new Set(inRange).size === nrCpus) return "any cpu";
  return formatCpuList(inRange);
}
