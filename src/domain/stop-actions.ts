/**
 * What happens when a guest stops: a shutdown, reboot or crash goes through the domain's
 * on_poweroff / on_reboot / on_crash action (destroy, preserve, restart, rename-restart, coredump-*),
 * with xend's restart-loop guard (a second restart within MINIMUM_RESTART_TIME destroys the domain).
 * `destroyRecord` is also what `xm destroy` does.
 */
import { randomUUID } from "node:crypto";
import { errorMessage, XvmError } from "../errors.ts";
import { launch } from "./creation.ts";
import type { DomainModel } from "./model.ts";
import { type Active, type FullConfig, metaOf } from "./records.ts";
import { stateString } from "./state.ts";
import { summaryOf } from "./summaries.ts";
import type { DomainAction } from "./types.ts";

export async function onCrash(m: DomainModel, rec: Active, detail: string): Promise<void> {
  if (rec.stopHandled || m.active.get(rec.domid) !== rec) return;
  rec.stopHandled = true;
  rec.stopReason = "crashed";
  markHandled(m, rec, rec.config.on_crash);
  const name = rec.config.name;
  m.log.warn(`Domain ${name} (${rec.domid}) crashed: ${detail}`);
  m.dmesgLine(`(XEN) Domain ${rec.domid} (${name}) crashed: ${detail}`);
  const summary = await summaryOf(m, rec);
  const action = rec.config.on_crash;
  await m.fireQuietly("domainCrashed", summary, { wantDump: action === "coredump-destroy" || action === "coredump-restart" });
  await runAction(m, rec, action, "crash");
}

export async function onShutdown(m: DomainModel, rec: Active, reason: string): Promise<void> {
  if (rec.stopHandled || m.active.get(rec.domid) !== rec) return;
  rec.stopHandled = true;
  rec.stopReason = reason === "reboot" ? "rebooting" : "shut down";
  markHandled(m, rec, reason === "reboot" ? rec.config.on_reboot : reason === "suspend" ? "preserve" : rec.config.on_poweroff);
  m.log.info(`Domain ${rec.config.name} (${rec.domid}) shut down: ${reason}`);
  m.dmesgLine(`(XEN) Domain ${rec.domid} (${rec.config.name}) shutdown: ${reason}`);
  await m.fireQuietly("domainShutdown", await summaryOf(m, rec), reason);
  const action: DomainAction = reason === "reboot" ? rec.config.on_reboot : reason === "suspend" ? "preserve" : rec.config.on_poweroff;
  await runAction(m, rec, action, reason);
}

/** Recorded before the action runs: a restarted xend never runs it again (src/domain/stopped.ts). */
function markHandled(m: DomainModel, rec: Active, action: string): void {
  m.stopped.write({ domid: rec.domid, state: "handled", stopReason: rec.stopReason, action, meta: metaOf(rec), info: rec.info, at: m.now() });
}

async function runAction(m: DomainModel, rec: Active, action: DomainAction, reason: string): Promise<void> {
  const key = reason === "crash" ? "on_crash" : reason === "reboot" ? "on_reboot" : "on_poweroff";
  m.log.info(`Domain ${rec.config.name} (${rec.domid}): ${key} = ${action}`);
  switch (action) {
    case "destroy":
    case "coredump-destroy":
      await destroyRecord(m, rec);
      return;
    case "preserve":
      m.log.info(`Domain ${rec.config.name} (${rec.domid}) is preserved ${rec.stopReason}${rec.lost ? " (its memory is gone with its runner)" : ""}; 'xm destroy ${rec.config.name}' removes it`);
      return;
    case "restart":
    case "coredump-restart":
      await restartRecord(m, rec, false);
      return;
    case "rename-restart":
      await restartRecord(m, rec, true);
      return;
  }
}

/** xend's _restart, with its loop guard: a second restart within MINIMUM_RESTART_TIME is refused. */
export async function restartRecord(m: DomainModel, rec: Active, rename: boolean, guard = true): Promise<Active | undefined> {
  const now = m.now() / 1000;
  const name = rec.config.name;
  if (guard && rec.previousRestartTime !== undefined && now - rec.previousRestartTime < m.minimumRestartTime) {
    const since = now - rec.previousRestartTime;
    m.log.error(`VM ${name} restarting too fast (${since.toFixed(6)} seconds since the last restart).  Refusing to restart to avoid loops.`);
    m.dmesgLine(`(XEN) Domain ${rec.domid} (${name}) restarting too fast; destroyed`);
    await destroyRecord(m, rec);
    return undefined;
  }
  const config: FullConfig = { ...rec.config };
  if (rename) {
    // The old domain stays, preserved, under a fresh name and uuid; the config restarts as itself.
    const uuid = randomUUID();
    rec.config = { ...rec.config, name: `Domain-${uuid}`, uuid };
    rec.managed = false;
    if (!rec.lost) await m.driver.setMeta(rec.domid, rec.config.name, metaOf(rec) as unknown as Record<string, unknown>).catch((e) => m.log.warn(`renaming domain ${rec.domid}: ${errorMessage(e)}`));
    m.log.info(`Domain ${name} (${rec.domid}) preserved as ${rec.config.name}`);
    markHandled(m, rec, "rename-restart");
  } else {
    // The old domain stays listed as dying (`-----d`) until its successor exists, so that the
    // domain never vanishes from lookups by name or uuid in between (xm reboot -w follows it).
    await destroyRecord(m, rec, { keepListed: true });
  }
  try {
    // A restart the administrator asked for (trigger reset) does not arm the loop guard.
    const next = await launch(m, config, {
      managed: m.managed.has(config.uuid), paused: false, restartCount: rec.restartCount + 1, previousRestartTime: guard ? now : rec.previousRestartTime,
      replacing: rename ? undefined : rec,
    });
    m.log.info(`Domain ${name} restarted as domain ${next.domid} (restart ${next.restartCount})`);
    return next;
  } catch (error) {
    if (!rename) m.forget(rec, "the domain was destroyed");
    m.log.error(`Failed to restart domain ${name}: ${errorMessage(error)}`);
    m.dmesgLine(`(XEN) Domain ${name} failed to restart`);
    return undefined;
  }
}

/**
 * Removes a guest from the hypervisor and from the model; fires domainDestroyed. With
 * `keepListed`, the record stays (dying) for a restart to replace.
 */
export async function destroyRecord(m: DomainModel, rec: Active, options: { keepListed?: boolean } = {}): Promise<void> {
  if (m.active.get(rec.domid) !== rec || (rec.dying && rec.destroyed)) return;
  const summary = await summaryOf(m, rec);
  rec.dying = true;
  // Recorded first: a daemon killed now finishes this destroy when it comes back.
  m.stopped.write({ domid: rec.domid, state: "destroying", stopReason: rec.stopReason, meta: metaOf(rec), info: rec.info, at: m.now() });
  if (!rec.lost) {
    try {
      await m.driver.destroy(rec.domid);
    } catch (error) {
      if (!(error instanceof XvmError && error.code === "DOMAIN_NOT_FOUND")) {
        rec.dying = false;
        if (rec.stopHandled) markHandled(m, rec, "preserve");
        else m.stopped.remove(rec.domid);
        throw error;
      }
    }
  }
  rec.destroyed = true;
  if (!options.keepListed) m.forget(rec, "the domain was destroyed");
  else m.stopped.remove(rec.domid);
  m.log.info(`Domain ${rec.config.name} (${rec.domid}) destroyed`);
  m.dmesgLine(`(XEN) Domain ${rec.domid} (${rec.config.name}) destroyed`);
  await m.fireQuietly("domainDestroyed", { ...summary, flags: { ...summary.flags, dying: true }, state: stateString({ ...summary.flags, dying: true }) });
}
