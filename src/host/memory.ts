/**
 * The host's memory in KiB: MemTotal from /proc/meminfo (what the kernel manages, as `free`
 * shows), else Node's totalmem().
 */
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";

export function parseMemTotalKiB(meminfo: string): number | undefined {
  const m = /^MemTotal:\s+(\d+)\s*kB$/m.exec(meminfo);
  return m ? Number(m[1]) : undefined;
}

export function hostMemoryKiB(procRoot = "/proc"): number {
  try {
    const kib = parseMemTotalKiB(readFileSync(`${procRoot}/meminfo`, "utf8"));
    if (kib !== undefined && kib > 0) return kib;
  } catch {
    // not Linux: fall through
  }
  return Math.floor(totalmem() / 1024);
}
