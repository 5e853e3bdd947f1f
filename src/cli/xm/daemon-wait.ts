/**
 * What xm does when the control socket does not answer: if the repository says xend is enabled
 * and not in maintenance (the restarter is restarting it: `svcadm restart xend`, or bringing it
 * back after a crash), xm waits a few seconds for it instead of failing at once, and if it still
 * does not answer says "xend is restarting" rather than "not running". The repository is only
 * read, never created (xm writes nothing).
 */
import { XvmError } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { XEND_INSTANCE, XEND_SERVICE } from "../../smf/model.ts";
import { enabledOf, locate, readStatus } from "../../smf/restarter/record.ts";
import { RepositoryFile } from "../../smf/store.ts";

/** How long xm waits for a restarting xend (XVM_XM_WAIT_MS overrides it, e.g. 0 never to wait). */
export function restartWaitMs(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.XVM_XM_WAIT_MS);
  return env.XVM_XM_WAIT_MS !== undefined && Number.isFinite(n) && n >= 0 ? n : 10_000;
}

/** svcs's state of xend (`online*` while in transition) when it is enabled and should come back; else undefined. */
export function restartingState(paths: Paths): string | undefined {
  let data;
  try {
    data = new RepositoryFile(paths.repository, paths.repositoryLock).read();
  } catch {
    return undefined;
  }
  const loc = data && locate(data, XEND_SERVICE, XEND_INSTANCE);
  if (!loc || !enabledOf(loc.inst).effective) return undefined;
  const st = readStatus(loc.inst);
  if (st.state === "maintenance" || st.state === "disabled") return undefined;
  return `${st.state}${st.nextState !== "none" ? "*" : ""}`;
}

/**
 * Runs `call` (one control API request); while it cannot connect and xend is restarting, tries again
 * until `waitMs` has passed. Throws DAEMON_RESTARTING or DAEMON_NOT_RUNNING when it gives up.
 */
export async function withRestartWait<T>(paths: Paths, call: () => Promise<T>, waitMs = restartWaitMs()): Promise<T> {
  const deadline = Date.now() + waitMs;
  let delay = 50;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ECONNREFUSED") throw error;
    }
    const state = restartingState(paths);
    if (state === undefined) throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
    if (Date.now() >= deadline) {
      throw new XvmError("DAEMON_RESTARTING", { root: paths.root, state, seconds: Math.round(waitMs / 1000) });
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(1, deadline - Date.now()))));
    delay = Math.min(delay * 2, 250);
  }
}
