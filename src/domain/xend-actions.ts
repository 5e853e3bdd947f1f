/**
 * What happens to managed domains when xend's domains come up and go down: `on_xend_start` and
 * `on_xend_stop`, as xend 3.4 had them (XendDomain.autostart_domains and cleanup_domains) and as
 * Solaris xVM ran them from its companion service svc:/system/xvm/domains:default.
 *
 * - start: every inactive managed domain with `on_xend_start = start` is started. One with a
 *   checkpoint (suspended, by `xm suspend` or by a stop below) is resumed from it instead; so is a
 *   suspended one with `on_xend_stop = suspend`, so that a suspend at stop comes back at the next
 *   start (3.4 skipped suspended domains here; Linux's xendomains restored them).
 * - stop: every running domain (not Domain-0, not paused: 3.4 acted on DOM_STATE_RUNNING only) goes
 *   through its `on_xend_stop`: `shutdown` asks the guest to power off (its on_poweroff applies)
 *   and waits until it is gone, `suspend` saves a managed domain into its folder
 *   (var/lib/xend/domains/<uuid>/checkpoint.chk, as `xm suspend`), `ignore` (the default) leaves
 *   it running. All domains are handled at once; the wait is bounded by `timeoutMs`.
 *
 * One domain failing is reported in the answer and logged; the others go on.
 */
import { errorMessage } from "../errors.ts";
import { isSuspended } from "./checkpoint.ts";
import { start } from "./creation.ts";
import { shutdown } from "./lifecycle.ts";
import type { DomainModel } from "./model.ts";
import type { Active } from "./records.ts";
import { resume, suspend } from "./saves.ts";
import type { XendStartOutcome, XendStopOutcome } from "./types.ts";

const POLL_MS = 50;

export async function onXendStart(m: DomainModel): Promise<XendStartOutcome[]> {
  const out: XendStartOutcome[] = [];
  for (const config of [...m.managed.values()]) {
    if (m.activeByUuid(config.uuid)) continue;
    const suspended = isSuspended(m, config.uuid);
    const wanted = config.on_xend_start === "start" || (suspended && config.on_xend_stop === "suspend");
    if (!wanted) continue;
    const why = config.on_xend_start === "start" ? "on_xend_start = start" : "on_xend_stop = suspend";
    const action = suspended ? "resumed" : "started";
    try {
      const d = suspended ? await resume(m, config.uuid, { paused: false }) : await start(m, config.uuid);
      m.log.info(`${action} managed domain ${d.name} (${d.domid}) (${why})`);
      out.push({ name: d.name, uuid: config.uuid, action, domid: d.domid ?? undefined });
    } catch (error) {
      m.log.error(`could not ${suspended ? "resume" : "start"} managed domain ${config.name} (${why}): ${errorMessage(error)}`);
      out.push({ name: config.name, uuid: config.uuid, action, error: errorMessage(error) });
    }
  }
  return out;
}

export async function onXendStop(m: DomainModel, timeoutMs: number): Promise<XendStopOutcome[]> {
  // Wall-clock time: the model's clock may be a test's, and this bounds a real wait.
  const deadline = Date.now() + timeoutMs;
  const chosen = [...m.active.values()].filter((rec) => !rec.lost && !rec.dying && !rec.destroyed && !rec.stopHandled && !rec.info?.paused);
  return Promise.all(chosen.map((rec) => one(m, rec, deadline)));
}

async function one(m: DomainModel, rec: Active, deadline: number): Promise<XendStopOutcome> {
  const action = rec.config.on_xend_stop ?? "ignore";
  const base = { name: rec.config.name, uuid: rec.config.uuid, domid: rec.domid, action } as const;
  try {
    switch (action) {
      case "ignore":
        m.log.debug(`Domain ${rec.config.name} (${rec.domid}) continues to run (on_xend_stop = ignore)`);
        return { ...base, done: true };
      case "suspend":
        m.log.info(`Suspending domain ${rec.config.name} (${rec.domid}) (on_xend_stop = suspend)`);
        await suspend(m, rec.domid);
        return { ...base, done: true };
      case "shutdown": {
        m.log.info(`Shutting down domain ${rec.config.name} (${rec.domid}) (on_xend_stop = shutdown)`);
        await shutdown(m, rec.domid, "poweroff");
        const gone = await waitGone(m, rec, deadline);
        if (!gone) m.log.warn(`Domain ${rec.config.name} (${rec.domid}) is still running after its shutdown request (on_xend_stop = shutdown); left as it is`);
        return { ...base, done: gone };
      }
    }
  } catch (error) {
    m.log.error(`Domain ${rec.config.name} (${rec.domid}) failed to ${action} (on_xend_stop): ${errorMessage(error)}`);
    return { ...base, done: false, error: errorMessage(error) };
  }
}

/** The guest stopped and its on_poweroff action ran (a restart gives a new record). */
async function waitGone(m: DomainModel, rec: Active, deadline: number): Promise<boolean> {
  for (;;) {
    if (m.active.get(rec.domid) !== rec || rec.destroyed || rec.stopHandled) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
