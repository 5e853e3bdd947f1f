/**
 * One daemon per state root: `var/run/xend/xend.lock` names the daemon holding the root and
 * `var/run/xend/xend.pid` is its pid file. Both are written while holding the repository's write
 * lock, so two daemons starting at once cannot both see the root free. A lock whose process is
 * gone (a crash, kill -9) is taken over; so is one whose pid now belongs to something that is not
 * xend (pid reuse), when /proc can tell.
 */
import { isProcessOf, readPidFile } from "../runtime/process.ts";
import { mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { XvmError, errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";

export interface DaemonLock {
  readonly pid: number;
  release(): void;
}

/** The pid of the daemon holding `paths.root`, if one is alive. */
export function runningDaemonPid(paths: Paths): number | undefined {
  for (const file of [paths.daemonLock, paths.pidFile]) {
    const pid = readPidFile(file);
    if (pid !== undefined && pid !== process.pid && isProcessOf(pid, "xend")) return pid;
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
        if (readPidFile(file) === pid) {
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
