/**
 * What svcs reads about each instance, gathered once from the repository: the restarter group
 * (state, next_state, state_timestamp, contract, logfile, auxiliary state, start method status),
 * enabled and its temporary override, the common name, the restarter, and the groups svcs -l -v
 * and -x consult in the running snapshot.
 *
 * Two derived values: the master restarter (svc:/system/svc/restarter:default) is shown offline when
 * the process it recorded is gone (killed), rather than the "online" it could not take back; and a
 * supervised instance recorded online or degraded whose daemon (start_pid) is gone is shown offline
 * (`daemonDead`): with its restarter killed nobody recorded the death, and svcs must never say
 * online for a dead xend. The next restarter restarts it (its boot sees the same thing). With both
 * dead, the dependents such a daemon leaves unsatisfied (svc:/system/xvm/domains) are shown
 * offline too.
 */
import { instanceFmri } from "../../fmri.ts";
import { RESTARTER_FMRI, composePgs, firstValue, getProp, type PgMap, type RepoData } from "../../model.ts";
import { escapeText } from "../../../security/log-escape.ts";
import { isProcessOf } from "../../../runtime/process.ts";
import { timeMs } from "../record.ts";
import { unsatisfied } from "../../dependencies.ts";

export const MASTER_RESTARTER = RESTARTER_FMRI;

export interface InstanceView {
  service: string;
  instance: string;
  fmri: string;
  /** restarter/state ("" when missing). */
  state: string;
  nextState: string;
  /** state_timestamp in ms since the epoch. */
  stime?: number;
  contracts: string[];
  hasContractProp: boolean;
  startPid?: number;
  commonName?: string;
  enabledPerm?: boolean;
  enabledTemp?: boolean;
  restarter: string;
  logfile?: string;
  altLogfile?: string;
  aux: string;
  auxFmri?: string;
  waitstatus: number;
  reason: string[];
  /** Composed editing groups (what svcs reads without a snapshot). */
  pgs: PgMap;
  /** The running snapshot (composed), or the editing groups when there is none. */
  running: PgMap;
  hasRestarterPg: boolean;
  /** The master restarter shown offline because its process is gone. */
  restarterDead: boolean;
  /** Recorded online/degraded, but the daemon it recorded is gone: shown offline. */
  daemonDead: boolean;
  /** xend runs, but not under this restarter (systemd, or `xvm xend` by hand): shown online, with who runs it. */
  outside?: string;
}

/** A daemon of the root that the restarter did not start (see src/cli/svcs.ts). */
export interface OutsideDaemon {
  fmri: string;
  pid: number;
  /** Who runs it: "systemd", or "none" (started by hand). */
  manager: string;
  /** When it started, ms since the epoch. */
  since?: number;
}

export interface Liveness {
  /** Is `pid` a live restarter of this root? */
  restarter(pid: number): boolean;
  /** Is `pid` a live daemon (xend)? */
  daemon(pid: number): boolean;
}

export const LIVE: Liveness = {
  restarter: (pid) => isProcessOf(pid, "__restarter"),
  daemon: (pid) => isProcessOf(pid, "xend"),
};

/** Free text read from the repository, as svcs may print it: control characters escaped. */
function shown<T extends string | undefined>(text: T): T {
  return (text === undefined ? text : escapeText(text, Number.MAX_SAFE_INTEGER)) as T;
}

function bool(pgs: PgMap, pg: string, prop: string): boolean | undefined {
  const v = firstValue(pgs, pg, prop);
  return v === undefined ? undefined : v === "true";
}

export function instanceViews(data: RepoData, live: Partial<Liveness> = {}, outside?: OutsideDaemon): InstanceView[] {
  const isAlive = live.restarter ?? LIVE.restarter;
  const daemonAlive = live.daemon ?? LIVE.daemon;
  const out: InstanceView[] = [];
  for (const [service, svc] of Object.entries(data.services)) {
    for (const [instance, inst] of Object.entries(svc.instances)) {
      const own = inst.pgs;
      const pgs = composePgs(svc, inst);
      const r = own.restarter?.props ?? {};
      const val = (p: string) => r[p]?.values.length === 1 ? r[p]!.values[0] : undefined;
      const fmri = instanceFmri(service, instance);
      const startPid = val("start_pid") !== undefined ? Number(val("start_pid")) : undefined;
      let state = val("state") ?? "";
      let nextState = val("next_state") ?? "";
      let restarterDead = false;
      if (fmri === MASTER_RESTARTER && state === "online" && !(startPid && isAlive(startPid))) {
        state = "offline";
        nextState = "none";
        restarterDead = true;
      }
      let daemonDead = false;
      if (fmri !== MASTER_RESTARTER && (state === "online" || state === "degraded") && startPid !== undefined && !daemonAlive(startPid)) {
        state = "offline";
        nextState = "none";
        daemonDead = true;
      }
      // Running outside the restarter: svcs says it runs, and who runs it, rather than "disabled".
      let restarter = firstValue(pgs, "general", "restarter") ?? MASTER_RESTARTER;
      let stime = timeMs(val("state_timestamp"));
      let shownPid = startPid;
      const out1 = outside && outside.fmri === fmri && !((state === "online" || state === "degraded") && startPid === outside.pid) ? outside : undefined;
      if (out1) {
        state = "online";
        nextState = "none";
        daemonDead = false;
        restarter = out1.manager === "systemd" ? "systemd" : "none (xvm xend started outside the restarter)";
        stime = out1.since ?? stime;
        shownPid = out1.pid;
      }
      out.push({
        service, instance, fmri, state, nextState,
        stime,
        contracts: r.contract?.type === "count" ? [...r.contract.values] : [],
        hasContractProp: r.contract?.type === "count",
        startPid: shownPid,
        commonName: shown(firstValue(pgs, "tm_common_name", "C")),
        enabledPerm: bool(own, "general", "enabled") ?? bool(pgs, "general", "enabled"),
        enabledTemp: bool(own, "general_ovr", "enabled"),
        restarter,
        logfile: shown(val("logfile")),
        altLogfile: shown(val("alt_logfile")),
        aux: val("auxiliary_state") ?? "invalid_aux_state",
        auxFmri: shown(val("auxiliary_fmri")),
        waitstatus: Number(val("start_method_waitstatus") ?? 0),
        // The daemon's own reasons may quote configuration values: never a control character.
        reason: (getProp(own, "restarter", "reason")?.values ?? []).map((r) => escapeText(r, 512)),
        pgs,
        running: inst.snapshots.running ?? pgs,
        hasRestarterPg: own.restarter !== undefined,
        restarterDead,
        daemonDead,
        ...(out1 ? { outside: out1.manager, aux: "none" } : {}),
      });
    }
  }
  return takeDownOrphanedDependents(data, out);
}

/**
 * With the master restarter dead as well, nobody took down the dependents of a daemon that died
 * (svc:/system/xvm/domains after xend and the restarter were both killed): an instance recorded
 * online or degraded whose dependencies such a dead daemon leaves unsatisfied is shown offline
 * too. The next restarter finds the same and brings both back in order.
 */
function takeDownOrphanedDependents(data: RepoData, views: InstanceView[]): InstanceView[] {
  if (!views.some((v) => v.restarterDead)) return views;
  const byFmri = new Map(views.map((v) => [v.fmri, v]));
  for (const v of views) {
    if ((v.state !== "online" && v.state !== "degraded") || v.outside !== undefined || v.daemonDead) continue;
    const blocked = unsatisfied(data, v.service, v.instance, (f) => byFmri.get(f)).some((u) => u.blocking.some((b) => byFmri.get(b)?.daemonDead));
    if (blocked) {
      v.state = "offline";
      v.nextState = "none";
    }
  }
  return views;
}

/** svcs lists, without operands, instances enabled either way (general or general_ovr). */
export function listedByDefault(v: InstanceView): boolean {
  return v.enabledPerm === true || v.enabledTemp === true || v.outside !== undefined;
}
