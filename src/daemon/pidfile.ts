/**
 * One daemon per state root: `var/run/xend/xend.lock` names the daemon holding the root and
 * `var/run/xend/xend.pid` is its pid file. Both are written while holding the repository's write
 * lock, so two daemons starting at once cannot both see the root free. A lock whose process is
 * gone (a crash, kill -9) is taken over; so is one whose pid now belongs to something that is not
 * xend (pid reuse), when /proc can tell.
 */
import { pidAlive } from "../runtime/process.ts";
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { XvmError, errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";

export interface DaemonLock {
  readonly pid: number;
  release(): void;
}

/** The pid of the daemon holding `paths.root`, if one is alive. */
export function runningDaemonPid(paths: Paths): number | undefined {
  for (const file of [paths.daemonLock, paths.pidFile]) {
    const pid = readPid(file);
    if (pid !== undefined && pid !== process.pid && isXend(pid)) return pid;
  }
  return undefined;
}

export function acquireDaemonLock(paths: Paths, serialize: <T>(fn: () => T) => T): DaemonLock {
  try {
    mkdirSync(paths.runDir, { recursive: true });
  } catch (error) {
    throw new XvmError("DAEMON_RUN_DIR", { path: paths.runDir, detail: errorMessage(error) });
  }
  const pid = process.pid;
  serialize(() => {
    const holder = runningDaemonPid(paths);
    if (holder !== undefined) throw new XvmError("DAEMON_RUNNING", { root: paths.root, pid: holder });
    try {
      writeFileSync(paths.daemonLock, `${pid}\n`, { mode: 0o644 });
      writeFileSync(paths.pidFile, `${pid}\n`, { mode: 0o644 });
    } catch (error) {
      throw new XvmError("DAEMON_RUN_DIR", { path: paths.runDir, detail: errorMessage(error) });
    }
  });
  return {
    pid,
    release() {
      for (const file of [paths.pidFile, paths.daemonLock]) {
        if (readPid(file) === pid) {
          try {
            unlinkSync(file);
          } catch {
            // gone already
          }
        }
      }
    },
  };
}

function readPid(file: string): number | undefined {
  try {
    if (!existsSync(file)) return undefined;
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isXend(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    // argv is NUL-separated; the daemon is `xvm xend`, or the binary reached as `xend`.
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((a) => a === "xend" || a.endsWith("/xend"));
  } catch {
    return true; // no /proc: trust the pid
  }
}
