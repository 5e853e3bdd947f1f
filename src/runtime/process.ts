/** Facts about other processes, read the same way everywhere (pid files, locks, runners, tests). */
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
