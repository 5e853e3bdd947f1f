/**
 * Where the restarter's knowledge lives in the repository, property by property, as svc.startd
 * keeps it: `restarter/*` (state, next_state, state_timestamp, auxiliary_state, start_pid,
 * contract, logfile, start_method_*), `general/enabled` with its temporary override
 * `general_ovr/enabled`, and the administrative requests `restarter_actions/<action>` that svcadm
 * writes. Two extensions, both in `restarter`: `reason` (the daemon's own words when it reports
 * itself degraded) and `temporary` (maintenance was asked with `mark -t`).
 */
import { timeValue } from "../manifest.ts";
import {
  composePgs, firstValue, getProp, setProp, type InstanceData, type PgMap, type RepoData, type ServiceData,
} from "../model.ts";
import { ADMIN_ACTIONS, type AdminAction, type Machine, type Methods, type NextState, type SmfState } from "./machine.ts";
import { rateRuleFrom, type RateRule } from "./rate.ts";

export const RESTARTER_PG = "restarter";
export const ACTIONS_PG = "restarter_actions";
export const NONPERSISTENT = 1;

export interface Located {
  svc: ServiceData;
  inst: InstanceData;
}

export function locate(data: RepoData, service: string, instance: string): Located | undefined {
  const svc = data.services[service];
  const inst = svc?.instances[instance];
  return svc && inst ? { svc, inst } : undefined;
}

/** SMF time value ("sec.nnnnnnnnn") -> ms. */
export function timeMs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? Math.round(n * 1000) : undefined;
}

export interface EnabledView {
  persistent: boolean;
  /** general_ovr/enabled when set (svcadm -t). */
  temporary?: boolean;
  effective: boolean;
}

export function enabledOf(inst: InstanceData): EnabledView {
  const persistent = firstValue(inst.pgs, "general", "enabled") === "true";
  const ovr = firstValue(inst.pgs, "general_ovr", "enabled");
  const temporary = ovr === undefined ? undefined : ovr === "true";
  return { persistent, temporary, effective: temporary ?? persistent };
}

/** svcadm enable/disable: -t writes only the override; otherwise the persistent value, dropping the override. */
export function setEnabled(inst: InstanceData, value: boolean, temporary: boolean): void {
  const v = value ? "true" : "false";
  if (temporary) {
    setProp(inst.pgs, "general_ovr", "enabled", "boolean", [v], "framework", NONPERSISTENT);
    return;
  }
  setProp(inst.pgs, "general", "enabled", "boolean", [v], "framework");
  const ovr = inst.pgs.general_ovr;
  if (ovr) {
    delete ovr.props.enabled;
    if (Object.keys(ovr.props).length === 0) delete inst.pgs.general_ovr;
  }
}

let lastStamp = 0n;

/**
 * svcadm restart/refresh/mark/clear: an integer timestamp (ns) in restarter_actions/<action>, as
 * svcadm writes gethrtime(). Strictly increasing within a process, so two requests keep their order.
 */
export function requestAction(inst: InstanceData, action: AdminAction, nowMs = Date.now()): void {
  let stamp = BigInt(Math.floor(nowMs)) * 1_000_000n;
  if (stamp <= lastStamp) stamp = lastStamp + 1n;
  lastStamp = stamp;
  setProp(inst.pgs, ACTIONS_PG, action, "integer", [stamp.toString()], "framework", NONPERSISTENT);
}

function stampOf(value: string | undefined): bigint {
  try {
    return BigInt(value ?? "0");
  } catch {
    return 0n;
  }
}

/** Takes the pending requests out of the instance (the caller commits), oldest first. */
export function takeActions(inst: InstanceData): AdminAction[] {
  const pg = inst.pgs[ACTIONS_PG];
  if (!pg) return [];
  const out = (ADMIN_ACTIONS as readonly string[])
    .filter((a) => pg.props[a])
    .map((a) => ({ a: a as AdminAction, t: stampOf(pg.props[a]!.values[0]) }))
    .sort((x, y) => (x.t < y.t ? -1 : x.t > y.t ? 1 : 0))
    .map((x) => x.a);
  delete inst.pgs[ACTIONS_PG];
  return out;
}

export interface StoredStatus {
  state: SmfState;
  nextState: NextState;
  stateTime?: number;
  aux: string;
  reason: string[];
  temporary: boolean;
  startPid?: number;
  contract?: number;
  waitstatus?: number;
  logfile?: string;
}

const STATES = new Set(["uninitialized", "offline", "online", "degraded", "maintenance", "disabled"]);

export function readStatus(inst: InstanceData): StoredStatus {
  const pgs = inst.pgs;
  const str = (p: string) => firstValue(pgs, RESTARTER_PG, p);
  const num = (p: string) => {
    const v = str(p);
    return v === undefined ? undefined : Number(v);
  };
  const state = str("state");
  const next = str("next_state");
  return {
    state: state && STATES.has(state) ? (state as SmfState) : "uninitialized",
    nextState: next && STATES.has(next) ? (next as NextState) : "none",
    stateTime: timeMs(str("state_timestamp")),
    aux: str("auxiliary_state") ?? "none",
    reason: getProp(pgs, RESTARTER_PG, "reason")?.values ?? [],
    temporary: str("temporary") === "true",
    startPid: num("start_pid"),
    contract: num("contract"),
    waitstatus: num("start_method_waitstatus"),
    logfile: str("logfile"),
  };
}

export interface WriteExtras {
  pid?: number;
  contract?: number;
  logfile?: string;
  startedAt?: number;
}

/** Writes the machine's view into restarter/* (a nonpersistent framework group, as in SMF). */
export function writeStatus(inst: InstanceData, m: Machine, extra: WriteExtras = {}): void {
  const pgs = inst.pgs;
  const put = (p: string, type: Parameters<typeof setProp>[3], values: string[]) =>
    setProp(pgs, RESTARTER_PG, p, type, values, "framework", NONPERSISTENT);
  put("state", "astring", [m.state]);
  put("next_state", "astring", [m.nextState]);
  put("state_timestamp", "time", [timeValue(m.stateTime)]);
  put("auxiliary_state", "astring", [m.aux]);
  put("reason", "astring", m.reason);
  put("temporary", "boolean", [m.temporary ? "true" : "false"]);
  // A stopped instance has no process and no contract; the properties stay, empty, as startd leaves them.
  put("start_pid", "count", extra.pid ? [String(extra.pid)] : []);
  put("contract", "count", extra.contract ? [String(extra.contract)] : []);
  if (extra.logfile) put("logfile", "astring", [extra.logfile]);
  if (extra.startedAt !== undefined) put("start_method_timestamp", "time", [timeValue(extra.startedAt)]);
  if (m.waitstatus !== undefined) put("start_method_waitstatus", "integer", [String(m.waitstatus)]);
}

/** What the restarter reads from the running snapshot (editing values before the first snapshot). */
export function runningPgs(svc: ServiceData, inst: InstanceData): PgMap {
  return inst.snapshots.running ?? composePgs(svc, inst);
}

export function rateRuleOf(svc: ServiceData, inst: InstanceData): RateRule {
  const pgs = runningPgs(svc, inst);
  return rateRuleFrom({
    count: firstValue(pgs, "startd", "critical_failure_count"),
    period: firstValue(pgs, "startd", "critical_failure_period"),
  });
}

/** Seconds from a method group's timeout_seconds (SMF: 0 = no timeout). */
export function methodTimeoutMs(svc: ServiceData, inst: InstanceData, method: "start" | "stop"): number {
  const v = Number(firstValue(runningPgs(svc, inst), method, "timeout_seconds"));
  if (!Number.isFinite(v) || v < 0) return 60_000;
  return v === 0 ? 0 : v * 1000;
}

/** Exec strings, as the log messages quote them. */
export function methodsOf(svc: ServiceData, inst: InstanceData): Methods {
  const pgs = runningPgs(svc, inst);
  return {
    start: firstValue(pgs, "start", "exec") ?? "",
    stop: firstValue(pgs, "stop", "exec") ?? ":kill",
    refresh: firstValue(pgs, "refresh", "exec") ?? ":true",
  };
}

/** How the restarter runs an instance, from its running snapshot: rate rule, methods, timeouts. */
export interface MethodConfig {
  rule: RateRule;
  methods: Methods;
  startTimeoutMs: number;
  stopTimeoutMs: number;
}

/** The instance's MethodConfig; undefined when the repository no longer has it. */
export function methodConfigOf(data: RepoData, service: string, instance: string): MethodConfig | undefined {
  const loc = locate(data, service, instance);
  if (!loc) return undefined;
  return {
    rule: rateRuleOf(loc.svc, loc.inst),
    methods: methodsOf(loc.svc, loc.inst),
    startTimeoutMs: methodTimeoutMs(loc.svc, loc.inst, "start"),
    stopTimeoutMs: methodTimeoutMs(loc.svc, loc.inst, "stop"),
  };
}

/** Drops what a fresh boot forgets: temporary overrides and pending requests (nonpersistent groups). */
export function forgetNonpersistent(inst: InstanceData): void {
  for (const [name, pg] of Object.entries(inst.pgs)) {
    if (name !== RESTARTER_PG && (pg.flags & NONPERSISTENT) !== 0) delete inst.pgs[name];
  }
}
