/**
 * How commands reach the restarter. `notifyRestarter` rings its doorbell after a change was
 * committed to the repository (svcadm, svccfg refresh); it never starts one, because the
 * repository keeps the request and a restarter acts on it when it runs. `ensureRestarter` starts
 * one on demand (svcadm), detached in its own session, exactly once per root even when several
 * commands race: the spawn and the pid file are done under the repository's write lock.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { XvmError } from "../errors.ts";
import type { Paths } from "../paths.ts";
import { writeFileAtomic } from "../runtime/atomic-write.ts";
import { unixJson } from "../runtime/http-client.ts";
import { selfCommand } from "../runtime/self.ts";
import { socketAnswers } from "../runtime/serve.ts";
import { parseFullFmri } from "./fmri.ts";
import { Repository } from "./repository.ts";
import { restarterJitEnv } from "./restarter/jit.ts";
import { ADMIN_ACTIONS, type AdminAction } from "./restarter/machine.ts";
import { locate, requestAction } from "./restarter/record.ts";
import { isProcessOf, pidAlive, readPidFile } from "../runtime/process.ts";
import type { RestarterInfo } from "./restarter/server.ts";

const MARKER = "__restarter";
const START_TIMEOUT_MS = 20_000;

/** An AdminAction, or "enable"/"disable" (already written to general/enabled by the caller). */
export type RestarterAction = AdminAction | "enable" | "disable" | (string & {});

/** The pid of the live restarter of this root, if any. */
export function restarterPid(paths: Paths): number | undefined {
  const pid = readPidFile(paths.restarterPidFile);
  return pid && isProcessOf(pid, MARKER) ? pid : undefined;
}

/**
 * Tells the restarter that `fmri` changed. An administrative action (restart, refresh, maint_on…,
 * maint_off, degraded, restore) is first recorded as restarter_actions/<action>, as svcadm does
 * in SMF; other words (enable, disable) only ring, the change being in the repository already.
 * Returns false if no restarter answered: the request waits in the repository.
 */
export async function notifyRestarter(paths: Paths, fmri: string, action: RestarterAction): Promise<boolean> {
  if ((ADMIN_ACTIONS as readonly string[]).includes(action)) {
    const target = parseFullFmri(fmri);
    if (target?.instance) {
      new Repository(paths).update((d) => {
        const loc = locate(d, target.service, target.instance!);
        if (loc) requestAction(loc.inst, action as AdminAction);
      });
    }
  }
  if (!restarterPid(paths)) return false;
  try {
    await unixJson(paths.restarterSocket, "POST", "/notify", { fmri, action }, 10_000);
    return true;
  } catch {
    return false;
  }
}

export async function restarterInfo(paths: Paths): Promise<RestarterInfo | undefined> {
  try {
    return await unixJson<RestarterInfo>(paths.restarterSocket, "GET", "/status", undefined, 5_000);
  } catch {
    return undefined;
  }
}

/** Starts the restarter for this root unless one runs; resolves with its pid once it serves. */
export async function ensureRestarter(paths: Paths, fmri = "svc:/system/xvm/xend:default"): Promise<number> {
  const running = restarterPid(paths);
  if (running && (await socketAnswers(paths.restarterSocket))) return running;
  const repo = new Repository(paths);
  repo.read();
  const pid = repo.file.withLock(() => {
    const holder = restarterPid(paths);
    if (holder) return holder;
    mkdirSync(dirname(paths.restarterLog), { recursive: true });
    mkdirSync(dirname(paths.restarterPidFile), { recursive: true });
    const log = openSync(paths.restarterLog, "a");
    const [cmd, ...args] = selfCommand();
    let child;
    try {
      // node:child_process only now: loading it costs svccfg more than a listprop (Start-up).
      child = process.getBuiltinModule("node:child_process").spawn(cmd!, [...args, MARKER], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...process.env, XVM_ROOT: paths.root, ...restarterJitEnv() },
      });
    } finally {
      closeSync(log);
    }
    child.unref();
    if (!child.pid) throw new XvmError("RESTARTER_UNAVAILABLE", { fmri, detail: `cannot run ${cmd}` });
    // Written before the lock is released, so a racing command sees this restarter and starts none.
    writeFileAtomic(paths.restarterPidFile, `${child.pid}\n`, { mode: 0o644 });
    return child.pid;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let wait = 5;
  for (;;) {
    if (await socketAnswers(paths.restarterSocket)) {
      // The one that serves may be another (ours lost the race to claim the pid file and left).
      return restarterPid(paths) ?? pid;
    }
    if (!pidAlive(pid) && !restarterPid(paths)) {
      throw new XvmError("RESTARTER_UNAVAILABLE", { fmri, detail: `it exited at start; see ${paths.restarterLog}` });
    }
    if (Date.now() > deadline) {
      throw new XvmError("RESTARTER_UNAVAILABLE", { fmri, detail: `no answer on ${paths.restarterSocket}` });
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 100);
  }
}
