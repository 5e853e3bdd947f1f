/**
 * Facts about other processes, read the same way everywhere (pid files, locks, the restarter,
 * svcs, runners, tests): is it alive (a zombie is not: an adopted daemon's parent may be a pid 1
 * that never reaps), what is it (to refuse a recycled pid), when did it start (svcs -p), and the
 * pid a pid file names. Linux /proc when present; elsewhere only kill(pid, 0) answers and the
 * rest is unknown.
 */
import { readFileSync } from "node:fs";

/**
 * True while `pid` names a live process. A zombie (killed, not yet reaped: detached processes wait
 * for pid 1, which some inits reap late) still answers kill(0) but holds nothing, so it counts as gone.
 */
export function pidAlive(pid: number | undefined): boolean {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state !== "Z" && state !== "X";
  } catch {
    // On Linux the process vanished between the two looks; elsewhere there is no /proc to ask.
    return process.platform !== "linux";
  }
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat after the parenthesised command name (which may hold spaces). */
function statFields(pid: number): string[] | undefined {
  const stat = readProc(pid, "stat");
  if (!stat) return undefined;
  const close = stat.lastIndexOf(")");
  return close < 0 ? undefined : stat.slice(close + 2).split(" ");
}

/** argv of a process joined by spaces (ps -o args), or undefined when unknown. */
export function processArgs(pid: number): string | undefined {
  const raw = readProc(pid, "cmdline");
  if (raw === undefined) return undefined;
  return raw.replace(/\0+$/, "").split("\0").join(" ");
}

/** The short process name (pr_fname: at most 15 characters on Linux). */
export function processName(pid: number): string | undefined {
  return readProc(pid, "comm")?.replace(/\n$/, "");
}

/**
 * True if `pid` is alive and (where /proc tells) one of its arguments is `marker` or a path ending
 * in it (`xvm xend`, or the binary reached through a link named `xend`): a recycled pid is not ours.
 */
export function isProcessOf(pid: number | undefined, marker: string): boolean {
  if (!pidAlive(pid)) return false;
  const raw = readProc(pid!, "cmdline");
  if (raw === undefined) return true;
  return raw.split("\0").some((a) => a === marker || a.endsWith(`/${marker}`));
}

let bootMs: number | undefined;

/** When the process started (ms since the epoch), from its start tick and the boot time. */
export function processStartMs(pid: number): number | undefined {
  const fields = statFields(pid);
  // starttime is field 22 of stat, i.e. index 19 after the name.
  const ticks = fields ? Number(fields[19]) : Number.NaN;
  if (!Number.isFinite(ticks)) return undefined;
  if (bootMs === undefined) {
    let stat = "";
    try {
      stat = readFileSync("/proc/stat", "utf8");
    } catch {
      return undefined;
    }
    const btime = /^btime (\d+)$/m.exec(stat);
    if (!btime) return undefined;
    bootMs = Number(btime[1]) * 1000;
  }
  // USER_HZ is 100 on every Linux port that matters here.
  return bootMs + ticks * 10;
}

/** This machine's boot id: a different one means the machine rebooted since it was recorded. */
export function bootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
}

export function readPidFile(path: string): number | undefined {
  try {
    const n = Number.parseInt(readFileSync(path, "utf8"), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}
