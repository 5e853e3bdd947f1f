/**
 * The one CPU-list parser: `0-3,8,^2` (numbers, ranges, and `^` exclusions applied in order, as
 * xm wrote them; the kernel's lists are the same syntax without `^`). Callers word the errors
 * their own way (xm's, the kernel's, the legacy HTTP interface's) from {@link CpuListError}.
 * Formatting back to `0-2,5` is {@link formatCpuRanges}.
 */

export type CpuListProblem = "empty" | "syntax" | "backwards" | "too-large";

export class CpuListError extends Error {
  constructor(readonly problem: CpuListProblem, readonly part: string) {
    super(problem === "empty" ? "empty CPU list" : problem === "syntax" ? `'${part}' is not a CPU number or range` : problem === "backwards" ? `range '${part}' runs backwards` : `range '${part}' is too large`);
    this.name = "CpuListError";
  }
}

export interface CpuListOptions {
  /** Accept `^n` / `^a-b` (remove from what the parts before added). Default true. */
  exclusions?: boolean;
  /** Most CPUs one range may name. Default 4096. */
  maxRange?: number;
}

/** Parses a CPU list into sorted, de-duplicated numbers. Throws CpuListError. */
export function parseCpuList(text: string, options: CpuListOptions = {}): number[] {
  const body = text.trim();
  if (body === "") throw new CpuListError("empty", "");
  const set = new Set<number>();
  for (const raw of body.split(",")) {
    const part = raw.trim();
    const neg = options.exclusions !== false && part.startsWith("^");
    const m = /^(\d+)(?:-(\d+))?$/.exec(neg ? part.slice(1) : part);
    if (!m) throw new CpuListError("syntax", part);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new CpuListError("backwards", part);
    if (hi - lo >= (options.maxRange ?? 4096)) throw new CpuListError("too-large", part);
    for (let c = lo; c <= hi; c++) {
      if (neg) set.delete(c);
      else set.add(c);
    }
  }
  return [...set].sort((a, b) => a - b);
}

/** `[0,1,2,5]` -> `0-2,5` (sorted, de-duplicated); `[]` -> ``. */
export function formatCpuRanges(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}
