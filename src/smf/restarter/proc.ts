/**
 * What the restarter and svcs need to know about a process they did not necessarily start: is it
 * alive (a zombie is not: an adopted daemon's parent may be a pid 1 that never reaps), what is it
 * (to refuse a recycled pid), and when did it start (svcs -p). Linux /proc when present; elsewhere
 * only kill(pid, 0) answers and the rest is unknown.
 */
import { pidAlive } from "../../runtime/process.ts";
import { readFileSync } from "node:fs";

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

export { pidAlive };

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

const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSYS: 31,
};

export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 0;
}

export function signalName(num: number): string {
  return Object.entries(SIGNALS).find(([, n]) => n === num)?.[0] ?? `SIG${num}`;
}

/** Signals whose default action dumps core (SMF tells "process dumped core" for these). */
export function dumpsCore(name: string): boolean {
  return ["SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV", "SIGSYS"].includes(name);
}
