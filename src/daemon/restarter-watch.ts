/**
 * A daemon started by a restarter watches that restarter (issue 13 §3): if it is killed (its pid
 * file names a process that is gone), nobody would restart xend when xend dies next. The daemon
 * then starts a new restarter, which adopts it (a live daemon: not a fresh boot, nothing is
 * forgotten). A restarter that stopped on purpose (SIGTERM, or left because nothing was enabled)
 * removes its pid file and is not replaced.
 */
import { existsSync } from "node:fs";
import { errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";
import type { Logger } from "../logger.ts";
import { readPidFile } from "../runtime/process.ts";
import { ensureRestarter, restarterPid } from "../smf/restarter-client.ts";

export const RESTARTER_WATCH_MS = 1_000;

export function watchRestarter(paths: Paths, log: Logger, everyMs = RESTARTER_WATCH_MS): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !existsSync(paths.restarterPidFile)) return;
    const recorded = readPidFile(paths.restarterPidFile);
    if (recorded === undefined || restarterPid(paths) !== undefined) return;
    busy = true;
    log.warn(`the restarter (pid ${recorded}) is gone; starting a new one to supervise xend`);
    ensureRestarter(paths)
      .then((pid) => log.info(`restarter pid ${pid} supervises xend`))
      .catch((error) => log.error(`cannot start a restarter: ${errorMessage(error)}`))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref?.();
  return () => clearInterval(timer);
}
