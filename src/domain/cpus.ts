/**
 * CPU lists as xm and xm config files write them: `0-3,^1`, `2`, `all`, and back
 * (`0-1,4,6-7`, or `any cpu` when a map covers every CPU, as `xm vcpu-list` printed it).
 */

/** Parses `0-3,^1,6` into a sorted, de-duplicated list. Throws with a readable message. */
export function parseCpuList(spec: string): number[] {
  const text = spec.trim();
  if (text === "") throw new Error("empty CPU list");
  const set = new Set<number>();
  for (const raw of text.split(",")) {
    const part = raw.trim();
    const neg = part.startsWith("^");
    const body = neg ? part.slice(1) : part;
    const m = /^(\d+)(?:-(\d+))?$/.exec(body);
    if (!m) throw new Error(`'${part}' is not a CPU number or range (e.g. 0-3,^1)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new Error(`range '${part}' runs backwards`);
    if (hi - lo > 4095) throw new Error(`range '${part}' is too large`);
    for (let c = lo; c <= hi; c++) {
      if (neg) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** `[0,1,2,3]` -> `0-3`; `[1,2,4,5]` -> `1-2,4-5`; `[]` -> `no cpus`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  if (sorted.length === 0) return "no cpus";
  const parts: string[] = [];
  let start = sorted[0]!;
  let prev = start;
  for (let i = 1; i <= sorted.length; i++) {
    const c = sorted[i];
    if (c !== undefined && c === prev + 1) {
      prev = c;
      continue;
    }
    parts.push(start === prev ? `${start}` : `${start}-${prev}`);
    if (c !== undefined) start = prev = c;
  }
  return parts.join(",");
}

/** xm's affinity column: `any cpu` when the map (an empty map means any) covers all host CPUs. */
export function formatAffinity(cpus: readonly number[], nrCpus: number): string {
  if (cpus.length === 0) return "any cpu";
  const inRange = cpus.filter((c) => c < nrCpus);
  if (new Set(inRange).size === nrCpus) return "any cpu";
  return formatCpuList(inRange);
}
