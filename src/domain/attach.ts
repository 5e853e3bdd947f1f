/**
 * The manager's own start and stop: re-attaching to the guests that outlived a previous daemon
 * (their config, ids and restart counts come back from the driver's `meta`) and following the
 * driver's events (a runner that vanishes, `lost`, is a crash). Starting the domains marked
 * on_xend_start = start is not done here: it is svc:/system/xvm/domains's start method, or the
 * daemon's own step when no restarter runs it (./xend-actions.ts, src/daemon/daemon.ts).
 */
import { mkdirSync } from "node:fs";
import { errorMessage } from "../errors.ts";
import type { GuestEvent, GuestInfo, PhysInfo } from "../hypervisor/driver.ts";
import { readDomidCounter } from "./creation.ts";
import type { DomainModel } from "./model.ts";
import { type Active, type FullConfig, isMeta, mib } from "./records.ts";
import { destroyRecord, onCrash, onShutdown } from "./stop-actions.ts";

export async function attach(m: DomainModel): Promise<void> {
  mkdirSync(m.paths.domainsDir, { recursive: true, mode: 0o700 });
  for (const config of m.store.load()) m.managed.set(config.uuid, config);
  m.early = [];
  m.unsubscribe = m.driver.subscribe((event) => dispatch(m, event));
  let guests: GuestInfo[];
  let phys: PhysInfo;
  try {
    guests = await m.driver.list();
    phys = await m.physInfo();
  } catch (error) {
    // Without the driver's list nothing can be adopted; events are handled as they come.
    const early = m.early;
    m.early = undefined;
    for (const event of early) dispatch(m, event);
    throw error;
  }
  const { keep, drop } = onePerUuid(guests);
  for (const g of keep) adopt(m, g);
  for (const { guest, kept } of drop) {
    // Two guests with one uuid cannot both be the domain: the copy that is not is destroyed (it
    // never ran under this daemon, no event of it is handled, nothing of it is kept).
    m.log.error(`Domain ${guest.name} (${guest.domid}) has the uuid ${guest.uuid} of domain ${kept.name} (${kept.domid}): not re-attached; destroying this copy`);
    try {
      await m.driver.destroy(guest.domid);
    } catch (error) {
      m.log.error(`destroying the duplicate domain ${guest.domid}: ${errorMessage(error)}`);
    }
  }
  const finish = applyStopped(m);
  m.nextDomid = Math.max(readDomidCounter(m), ...[...m.active.keys()].map((d) => d + 1), 1);
  m.dmesgLine(`(XEN) ${phys.hypervisor.name} hypervisor ${phys.hypervisor.major}.${phys.hypervisor.minor}${phys.hypervisor.extra} on ${phys.hostname}: ${phys.nrCpus} CPUs, ${mib(phys.totalMemoryKiB)} MiB`);
  if (m.active.size > 0) {
    m.log.info(`re-attached to ${m.active.size} running domain(s): ${[...m.active.values()].map((r) => `${r.config.name} (${r.domid})`).join(", ")}`);
  }
  const early = m.early;
  m.early = undefined;
  for (const event of early) dispatch(m, event);
  for (const rec of finish) {
    m.log.info(`Domain ${rec.config.name} (${rec.domid}): finishing the destroy an earlier xend began`);
    m.queue(rec.domid, () => destroyRecord(m, rec)).catch((error) => m.log.error(`destroying domain ${rec.domid}: ${errorMessage(error)}`));
  }
  // A stop that happened while no daemon listened, and whose event an earlier daemon already
  // took, shows only in the guest's state: handle it as the event would have been.
  for (const rec of m.active.values()) {
    const info = rec.info;
    if (!info || rec.stopHandled) continue;
    if (rec.lost || info.crashed) m.queue(rec.domid, () => onCrash(m, rec, rec.lost ? "the guest's runner died while xend was not running" : "crashed while xend was not running"));
    else if (info.shutdown) m.queue(rec.domid, () => onShutdown(m, rec, info.shutdownReason || "poweroff"));
  }
}

export async function close(m: DomainModel): Promise<void> {
  m.closed = true;
  m.unsubscribe?.();
  m.unsubscribe = undefined;
  await Promise.race([m.queues.idle(), new Promise((r) => setTimeout(r, 10_000).unref?.())]);
  for (const rec of m.active.values()) for (const w of rec.watchers) w.end("xend is stopping");
}

/**
 * What earlier daemons recorded (src/domain/stopped.ts): a guest whose stop was handled is not
 * handled again; one whose runner is gone too comes back as a record (preserved, `c`); a destroy
 * that was begun is finished (returned, to run once events flow). Records of guests that are gone
 * and were being destroyed are dropped.
 */
function applyStopped(m: DomainModel): Active[] {
  const finish: Active[] = [];
  for (const s of m.stopped.load()) {
    let rec = m.active.get(s.domid);
    if (rec && rec.config.uuid !== s.meta.config.uuid) {
      // Not the same guest (ids are never reused; a stale file): keep the live guest.
      m.stopped.remove(s.domid);
      continue;
    }
    if (s.state === "destroying") {
      if (rec) finish.push(rec);
      else m.stopped.remove(s.domid);
      continue;
    }
    if (!rec) {
      if (!s.info) {
        m.stopped.remove(s.domid);
        continue;
      }
      rec = {
        domid: s.domid, config: s.meta.config, managed: s.meta.managed, startTime: s.meta.startTime, restartCount: s.meta.restartCount,
        previousRestartTime: s.meta.previousRestartTime, targetKiB: s.info.targetKiB, info: { ...s.info, lost: true },
        lost: true, dying: false, stopHandled: true, watchers: new Set(),
      };
      m.active.set(s.domid, rec);
    }
    rec.stopHandled = true;
    rec.stopReason = s.stopReason;
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) was already ${s.stopReason ?? "stopped"} (on_* action ${s.action ?? "?"} taken by an earlier xend); not handled again`);
  }
  return finish;
}

/**
 * Guests the driver lists with one uuid (a migration to this same host, a runner folder copied
 * by hand): only one of them is the domain. The real one is the one that can run — not lost,
 * not stopped, not paused (a source stopped for its migration is paused; the copy that took over
 * runs), not named `migrating-` — and, all else equal, the older one (lowest domid): a copy
 * comes after its original. Events of the others are never handled.
 */
export function onePerUuid(guests: GuestInfo[]): { keep: GuestInfo[]; drop: { guest: GuestInfo; kept: GuestInfo }[] } {
  const rank = (g: GuestInfo): number[] => [
    g.lost ? 1 : 0,
    g.crashed || g.shutdown || g.dying ? 1 : 0,
    g.paused ? 1 : 0,
    g.name.startsWith("migrating-") ? 1 : 0,
    g.domid,
  ];
  const better = (a: GuestInfo, b: GuestInfo): boolean => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i]! < rb[i]!;
    return false;
  };
  const best = new Map<string, GuestInfo>();
  for (const g of guests) {
    const key = g.uuid.toLowerCase();
    const seen = best.get(key);
    if (!seen || better(g, seen)) best.set(key, g);
  }
  const keep: GuestInfo[] = [];
  const drop: { guest: GuestInfo; kept: GuestInfo }[] = [];
  for (const g of guests) {
    const kept = best.get(g.uuid.toLowerCase())!;
    if (kept === g) keep.push(g);
    else drop.push({ guest: g, kept });
  }
  return { keep, drop };
}

function adopt(m: DomainModel, g: GuestInfo): void {
  const meta = isMeta(g.meta) ? g.meta : undefined;
  const config: FullConfig = meta
    ? { ...meta.config, name: g.name || meta.config.name, uuid: g.uuid || meta.config.uuid }
    : {
      // A guest started by something else: describe it from what the driver knows.
      name: g.name, uuid: g.uuid, memory: mib(g.targetKiB), maxmem: mib(g.maxMemKiB),
      vcpus: Math.max(1, g.vcpus.filter((v) => v.online).length), maxvcpus: g.maxVcpus, kernel: "unknown",
      on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [],
    };
  const rec: Active = {
    domid: g.domid, config, managed: meta?.managed ?? false, startTime: meta?.startTime ?? g.startTime,
    restartCount: meta?.restartCount ?? 0, previousRestartTime: meta?.previousRestartTime, targetKiB: g.targetKiB,
    info: g, lost: g.lost === true, dying: false, stopHandled: false, watchers: new Set(),
  };
  m.active.set(g.domid, rec);
  if (rec.managed && !m.managed.has(config.uuid)) {
    // Its stored config was lost (or deleted by hand): the running guest's copy is the config now.
    m.managed.set(config.uuid, config);
    m.saveManaged(config);
  }
}

/** One driver event: console output goes to watchers at once; the rest waits in the domain's queue. */
function dispatch(m: DomainModel, event: GuestEvent): void {
  if (m.early) {
    m.early.push(event);
    return;
  }
  if (m.closed) return;
  if (event.type === "console") {
    const rec = m.active.get(event.domid);
    if (rec) for (const w of rec.watchers) w.data(event.data);
    return;
  }
  m.queue(event.domid, async () => {
    const rec = m.active.get(event.domid);
    if (!rec || rec.dying) return;
    if (event.type === "lost") {
      rec.lost = true;
      if (rec.stopHandled) {
        // Kept by preserve, and now its runner is gone too: only the record is left.
        m.log.warn(`Domain ${rec.config.name} (${rec.domid}): ${event.detail}; it was already ${rec.stopReason ?? "stopped"} and is kept as a record only`);
        return;
      }
      return onCrash(m, rec, event.detail);
    }
    if (event.type === "crashed") return onCrash(m, rec, event.detail);
    if (event.reason === "crash") return onCrash(m, rec, "crashed");
    return onShutdown(m, rec, event.reason);
  }).catch((error) => m.log.error(`handling ${event.type} of domain ${event.domid}: ${errorMessage(error)}`));
}
