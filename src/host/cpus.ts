/**
 * The host's CPUs as Linux numbers them, the CPU affinity of a process, and how Domain-0 and the
 * guests share the CPUs (docs/host-resources.md, "dom0-cpus").
 */
import { spawnSync } from "node:child_process";
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { CpuListError, formatCpuRanges, parseCpuList } from "../formats/cpu-list.ts";

/** Parses a kernel CPU list (`0-3,8,10-11`; empty is none) into sorted numbers. Throws on anything else. */
export function parseKernelCpuList(text: string): number[] {
  if (text.trim() === "") return [];
  try {
    return parseCpuList(text, { exclusions: false, maxRange: Number.MAX_SAFE_INTEGER });
  } catch (error) {
    if (!(error instanceof CpuListError)) throw error;
    throw new Error(error.problem === "backwards" ? `CPU range '${error.part}' runs backwards` : `'${error.part}' is not a CPU or CPU range`);
  }
}

/** `[0,1,2,5]` -> `0-2,5`, the kernel's (and taskset's) CPU list syntax. */
export const formatKernelCpuList = formatCpuRanges;

/** CPUs the kernel has online (`/sys/devices/system/cpu/online`), else 0..n-1. */
export function onlineCpus(sysCpuDir = "/sys/devices/system/cpu"): number[] {
  try {
    const cpus = parseKernelCpuList(readFileSync(`${sysCpuDir}/online`, "utf8"));
    if (cpus.length > 0) return cpus;
  } catch {
    // not Linux, or no sysfs: fall through
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}

/** A process's allowed CPUs, from `Cpus_allowed_list` in /proc/<pid>/status; undefined if unknown. */
export function processAffinity(pid: number | "self" = "self", procRoot = "/proc"): number[] | undefined {
  try {
    const status = readFileSync(`${procRoot}/${pid}/status`, "utf8");
    const line = /^Cpus_allowed_list:\s*(.*)$/m.exec(status);
    return line ? parseKernelCpuList(line[1]!) : undefined;
  } catch {
    return undefined;
  }
}

export class AffinityError extends Error {}

/**
 * Restricts every thread of `pid` to `cpus` with util-linux `taskset -a -p` (threads created later
 * inherit their creator's mask, so the whole process stays inside). Verifies the result through
 * /proc. Throws AffinityError with a message fit for the log.
 */
export function setProcessAffinity(pid: number, cpus: readonly number[]): void {
  if (cpus.length === 0) throw new AffinityError("no CPUs given");
  // `taskset -a` walks /proc/<pid>/task and succeeds on a pid that is gone: check first.
  if (processAffinity(pid) === undefined) throw new AffinityError(`no process ${pid} (or no /proc/${pid}/status to check it)`);
  const list = formatKernelCpuList(cpus);
  const r = spawnSync("taskset", ["-a", "-p", "-c", list, String(pid)], { encoding: "utf8", timeout: 5_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new AffinityError(code === "ENOENT" ? "taskset (util-linux) is not installed" : `taskset failed: ${r.error.message}`);
  }
  if (r.status !== 0) throw new AffinityError(`taskset -a -p -c ${list} ${pid} failed: ${(r.stderr || r.stdout).trim() || `exit ${r.status}`}`);
  const now = processAffinity(pid);
  if (now === undefined || formatKernelCpuList(now) !== list) {
    throw new AffinityError(`process ${pid} runs on CPUs ${now ? formatKernelCpuList(now) : "(unknown)"} after asking for ${list}`);
  }
}

/** One Domain-0 vCPU: where it runs and where it may run. */
export interface Dom0Vcpu {
  cpu: number;
  affinity: number[];
}

export interface Dom0CpuPlan {
  /** Domain-0's vCPUs, each pinned to its own physical CPU. */
  vcpus: Dom0Vcpu[];
  /** The CPUs the daemon's process is restricted to. */
  processCpus: number[];
  /** CPUs guests are placed on (those Domain-0 does not use), or every CPU when Domain-0 uses them all. */
  guestCpus: number[];
}

/**
 * Domain-0's share of `cpus` (the CPUs the daemon may use, in order) for a dom0-cpus value:
 * 0 = one vCPU per CPU, pinned one to one; N = N vCPUs pinned to the first N CPUs. Throws when N
 * is more than there are CPUs.
 */
export function planDom0Cpus(dom0Cpus: number, cpus: readonly number[]): Dom0CpuPlan {
  if (!Number.isInteger(dom0Cpus) || dom0Cpus < 0) throw new RangeError(`dom0-cpus must be a whole number of CPUs, not ${dom0Cpus}`);
  if (cpus.length === 0) throw new RangeError("the host has no CPUs to give Domain-0");
  if (dom0Cpus > cpus.length) {
    throw new RangeError(`dom0-cpus is ${dom0Cpus} but this host has only ${cpus.length} CPU${cpus.length === 1 ? "" : "s"} (${formatKernelCpuList(cpus)})`);
  }
  const mine = dom0Cpus === 0 ? [...cpus] : cpus.slice(0, dom0Cpus);
  const rest = cpus.filter((c) => !mine.includes(c));
  return {
    vcpus: mine.map((cpu) => ({ cpu, affinity: [cpu] })),
    processCpus: mine,
    guestCpus: rest.length > 0 ? rest : [...cpus],
  };
}
