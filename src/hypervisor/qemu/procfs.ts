/** QEMU's vCPU threads as /proc shows them: CPU time, the CPU last run on, affinity, run state. */
import { readFileSync, readdirSync, readlinkSync } from "node:fs";
import { parseCpuList } from "../../formats/cpu-list.ts";

/** The kernel's list format (`0-3,6`) to numbers; what does not parse is no CPU. */
function kernelCpus(text: string): number[] {
  try {
    return parseCpuList(text, { exclusions: false, maxRange: Number.MAX_SAFE_INTEGER });
  } catch {
    return [];
  }
}

export interface ThreadFacts {
  cpuTimeNs: number;
  cpu: number;
  affinity: number[];
  /** R (running or runnable), S (sleeping: a halted vCPU waits), … */
  state: string;
}

export function threadFacts(pid: number, tid: number): ThreadFacts | undefined {
  try {
    const base = `/proc/${pid}/task/${tid}`;
    const schedstat = readFileSync(`${base}/schedstat`, "utf8").trim().split(/\s+/);
    const stat = readFileSync(`${base}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const status = readFileSync(`${base}/status`, "utf8");
    const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? "";
    return {
      cpuTimeNs: Number(schedstat[0] ?? 0),
      // stat field 39 (processor) is the 37th after "pid (comm) ".
      cpu: Number(fields[36] ?? 0),
      affinity: allowed ? kernelCpus(allowed) : [],
      state: fields[0] ?? "S",
    };
  } catch {
    return undefined;
  }
}

/** True if `pid` is a live QEMU whose command line names `needle` (a recycled pid is not). */
export function isQemuOf(pid: number, needle: string): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X" && argv.includes(needle);
  } catch {
    return false;
  }
}

/**
 * The /proc path of QEMU's guest-RAM memfd (`-object memory-backend-memfd,id=ram0`, the only memfd
 * backend a guest has). QEMU 7.2 names the memfd after the backend's type
 * (`/memfd:memory-backend-memfd`); later QEMUs after the object's id (`/memfd:ram0`).
 */
export function guestRamPath(pid: number): string | undefined {
  const fdDir = `/proc/${pid}/fd`;
  for (const fd of readdirSync(fdDir)) {
    try {
      if (/^\/memfd:(ram0|memory-backend-memfd)( \(deleted\))?$/.test(readlinkSync(`${fdDir}/${fd}`))) return `${fdDir}/${fd}`;
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}
