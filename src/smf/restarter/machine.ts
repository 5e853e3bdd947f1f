/**
 * The restarter's state machine for one instance, after svc.startd (restarter.c, method.c): pure,
 * driven by events, returning effects. The driver (supervisor.ts) performs the effects — spawn,
 * signal, poll the daemon's status — and feeds back what happened as new events; the clock is a
 * parameter, so the rules (fault threshold, restart rate) are tested without waiting.
 *
 * Where our daemon differs from an SMF "contract" service: xend runs in the foreground, so the
 * start method "exits with status 0" when the daemon answers its status request, and a start
 * method failure is the daemon exiting before that. SMF's fatal exit codes (95 fatal, 96 config,
 * 99 nosmf, 100 perm) put it into maintenance at once, at start or later.
 *
 * Log texts are svc.startd's. Its ":kill" methods are quoted bare — `Executing stop method
 * (:kill).`, `Executing refresh method (:kill -HUP).` — and exec strings in double quotes —
 * `Executing start method ("/usr/lib/xend").` — and a ":kill" method has no "exited" line.
 */
import { dumpsCore } from "./proc.ts";
import { StartTimes, type RateRule } from "./rate.ts";

export type SmfState = "uninitialized" | "offline" | "online" | "degraded" | "maintenance" | "disabled";
export type NextState = SmfState | "none";

export const ADMIN_ACTIONS = [
  "restart", "refresh", "maint_on", "maint_on_immediate", "maint_on_temporary", "maint_on_immtemp",
  "maint_off", "degraded", "degrade_immediate", "restore",
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** SMF exit codes that mean "do not retry" (smf_method(5)). */
export const SMF_EXIT_ERR_FATAL = 95;
export const SMF_EXIT_ERR_CONFIG = 96;
export const SMF_EXIT_NOSMF = 99;
export const SMF_EXIT_ERR_PERM = 100;
const FATAL_EXITS = new Set([SMF_EXIT_ERR_FATAL, SMF_EXIT_ERR_CONFIG, SMF_EXIT_NOSMF, SMF_EXIT_ERR_PERM]);

/** svc.startd retries a failing start method this many times before maintenance. */
export const FAULT_THRESHOLD = 3;

/** What the process is doing, as far as the restarter knows. */
export type ProcPhase = "none" | "starting" | "running" | "stopping";

export interface Methods {
  start: string;
  stop: string;
  refresh: string;
}

export interface Machine {
  state: SmfState;
  nextState: NextState;
  /** ms since the epoch of the last change of state or next_state. */
  stateTime: number;
  /** restarter/auxiliary_state: why the instance is in maintenance (or degraded). */
  aux: string;
  /** The daemon's own words when it reports itself degraded. */
  reason: string[];
  /** Maintenance asked with `svcadm mark -t`: lost on a fresh boot. */
  temporary: boolean;
  /** The effective general/enabled (general_ovr wins). */
  enabled: boolean;
  proc: ProcPhase;
  /** Wait status of the last start method, as waitpid(2) encodes it (exit << 8 | signal). */
  waitstatus?: number;
  /** Consecutive failed starts. */
  faults: number;
  /** A start that outlived its timeout and was killed: fatal, as svc.startd treats it. */
  startTimedOut: boolean;
  starts: StartTimes;
}

export type Event =
  | { type: "enabled"; value: boolean }
  | { type: "action"; action: AdminAction }
  /** The daemon answered its status request after a start (the start method succeeded). */
  | { type: "ready"; status: "online" | "degraded"; reasons: string[] }
  /** The daemon answered a status request at another time (after a refresh or a restore). */
  | { type: "status"; status: "online" | "degraded"; reasons: string[] }
  /** The process is gone; code/signal are unknown (null) for an adopted process. */
  | { type: "exited"; code: number | null; signal: string | null }
  | { type: "start_timeout" }
  | { type: "stop_timeout" }
  /** A dependency changed state: re-evaluate with the context's `depsSatisfied`. */
  | { type: "dependencies" };

export type Effect =
  | { type: "log"; message: string }
  | { type: "spawn" }
  | { type: "signal"; signal: "SIGTERM" | "SIGKILL" | "SIGHUP" }
  | { type: "arm_stop_timer" }
  /** Ask the daemon for its status and feed back a "status" event. */
  | { type: "poll_status" }
  /** Re-read startd properties (rate rule) from the running snapshot. */
  | { type: "reload" };

/** svc.startd quotes an exec string in the log, not a ":kill"-style method token. */
function quoteMethod(exec: string): string {
  return exec.startsWith(":") ? exec : `"${exec}"`;
}

export function newMachine(now: number, init: Partial<Machine> = {}): Machine {
  return {
    state: "uninitialized", nextState: "none", stateTime: now, aux: "none", reason: [], temporary: false,
    enabled: false, proc: "none", faults: 0, startTimedOut: false, starts: new StartTimes(), ...init,
  };
}

export function isRunningState(s: SmfState): boolean {
  return s === "online" || s === "degraded";
}

export function waitStatusOf(code: number | null, signal: number | null): number {
  if (signal) return signal & 0x7f;
  return ((code ?? 0) & 0xff) << 8;
}

export interface StepContext {
  now: number;
  rule: RateRule;
  methods: Methods;
  /** Contract id of the running process, for the timeout message. */
  contract?: number;
  /** Signal name -> number (waitstatus). */
  signalNumber: (name: string) => number;
  /**
   * Whether the instance's dependencies are satisfied (undefined: it has none). An enabled
   * offline instance starts only when they are; a running one is stopped when they no longer are
   * ("Stopping because dependency activity requires stop."), and waits offline.
   */
  depsSatisfied?: boolean;
}

/** Applies one event; mutates `m` and returns what the driver must do, in order. */
export function step(m: Machine, event: Event, ctx: StepContext): Effect[] {
  const fx: Effect[] = [];
  const log = (message: string) => fx.push({ type: "log", message });
  const set = (state: SmfState, next: NextState = "none") => {
    if (m.state !== state || m.nextState !== next) m.stateTime = ctx.now;
    m.state = state;
    m.nextState = next;
  };
  const toMaintenance = (aux: string) => {
    set("maintenance");
    m.aux = aux;
    m.reason = [];
  };
  const stop = (why: string, target: NextState) => {
    log(why);
    set(m.state, target);
    log(`Executing stop method (${quoteMethod(ctx.methods.stop)}).`);
    m.proc = "stopping";
    fx.push({ type: "signal", signal: "SIGTERM" }, { type: "arm_stop_timer" });
  };

  switch (event.type) {
    case "enabled": {
      if (event.value === m.enabled) break;
      m.enabled = event.value;
      if (!event.value) {
        // An administrative disable resets the rate history and pulls the instance out of maintenance.
        m.starts.reset();
        if (m.state === "maintenance" && m.proc === "none") {
          log("Leaving maintenance because disable requested.");
          set("uninitialized");
          m.aux = "none";
          m.temporary = false;
          m.faults = 0;
        }
      }
      break;
    }
    case "action":
      action(event.action);
      break;
    case "ready": {
      if (m.proc !== "starting") break;
      m.proc = "running";
      log('Method "start" exited with status 0.');
      m.faults = 0;
      m.waitstatus = 0;
      m.aux = "none";
      m.reason = event.status === "degraded" ? [...event.reasons] : [];
      set(event.status);
      break;
    }
    case "status": {
      if (m.proc !== "running" || !isRunningState(m.state)) break;
      // An administrator's `mark degraded` stands until `svcadm clear`, whatever the daemon says.
      if (m.state === "degraded" && m.aux === "administrative_request") break;
      m.reason = event.status === "degraded" ? [...event.reasons] : [];
      m.aux = "none";
      if (m.state !== event.status) set(event.status);
      break;
    }
    case "exited":
      exited(event.code, event.signal);
      break;
    case "start_timeout": {
      if (m.proc !== "starting") break;
      m.startTimedOut = true;
      log(`Method or service exit timed out.  Killing contract ${ctx.contract ?? 0}.`);
      fx.push({ type: "signal", signal: "SIGKILL" });
      break;
    }
    case "stop_timeout": {
      if (m.proc !== "stopping") break;
      log(`Method or service exit timed out.  Killing contract ${ctx.contract ?? 0}.`);
      fx.push({ type: "signal", signal: "SIGKILL" });
      break;
    }
    case "dependencies":
      break;
  }
  settle();
  return fx;

  function action(a: AdminAction): void {
    switch (a) {
      case "restart":
        if (m.proc !== "running" || !isRunningState(m.state)) return;
        m.starts.reset();
        stop("Stopping because service restarting.", "offline");
        return;
      case "refresh":
        log("Rereading configuration.");
        fx.push({ type: "reload" });
        if (m.proc === "running" && isRunningState(m.state)) {
          log(`Executing refresh method (${quoteMethod(ctx.methods.refresh)}).`);
          fx.push({ type: "signal", signal: "SIGHUP" }, { type: "poll_status" });
        }
        return;
      case "maint_on":
      case "maint_on_immediate":
      case "maint_on_temporary":
      case "maint_on_immtemp": {
        if (m.state === "maintenance" || m.nextState === "maintenance") return;
        const immediate = a === "maint_on_immediate" || a === "maint_on_immtemp";
        m.temporary = a === "maint_on_temporary" || a === "maint_on_immtemp";
        if (m.proc === "none") {
          log("Stopping for maintenance due to administrative_request.");
          toMaintenance("administrative_request");
          return;
        }
        m.aux = "administrative_request";
        m.reason = [];
        if (immediate) {
          // -I: no stop method; the process is killed outright rather than abandoned, so that a
          // later start never finds an unsupervised daemon holding the pid file.
          log("Stopping for maintenance due to administrative_request.");
          set(m.state, "maintenance");
          m.proc = "stopping";
          fx.push({ type: "signal", signal: "SIGKILL" });
          return;
        }
        stop("Stopping for maintenance due to administrative_request.", "maintenance");
        return;
      }
      case "maint_off":
        if (m.state === "maintenance" && m.proc === "none") {
          log("Leaving maintenance because clear requested.");
          set("uninitialized");
          m.aux = "none";
          m.reason = [];
          m.temporary = false;
          m.faults = 0;
          m.startTimedOut = false;
          m.starts.reset();
          return;
        }
        if (m.state === "degraded") restore();
        return;
      case "degraded":
      case "degrade_immediate":
        if (m.state !== "online" || m.proc !== "running") return;
        set("degraded");
        m.aux = "administrative_request";
        m.reason = [];
        return;
      case "restore":
        if (m.state === "degraded") restore();
        return;
    }
  }

  function restore(): void {
    set("online");
    m.aux = "none";
    m.reason = [];
    // The daemon may still be degraded on its own account: ask it.
    if (m.proc === "running") fx.push({ type: "poll_status" });
  }

  function exited(code: number | null, signal: string | null): void {
    const phase = m.proc;
    m.proc = "none";
    if (phase === "none") return;
    const signum = signal ? ctx.signalNumber(signal) : null;
    if (phase === "stopping") {
      const target = m.nextState === "none" ? "offline" : m.nextState;
      if (target === "maintenance") toMaintenance(m.aux === "none" ? "administrative_request" : m.aux);
      else set(target);
      return;
    }
    if (phase === "starting") {
      m.waitstatus = waitStatusOf(code, signum);
      if (signal) log(`Method "start" failed due to signal ${signal.replace(/^SIG/, "")}.`);
      else if (code === 0) {
        // Exiting 0 before answering is not a failure of the method, just a service with nothing left running.
        log('Method "start" exited with status 0.');
        log("Stopping because all processes in service exited.");
        set("offline");
        return;
      } else log(`Method "start" failed with exit status ${code ?? "unknown"}.`);
      if (ctx.depsSatisfied === false && !m.startTimedOut) {
        // A dependency went away meanwhile (its stop may be why the method failed): wait for it
        // offline, and do not count this start against the instance.
        set("offline");
        return;
      }
      if (m.startTimedOut || (code !== null && FATAL_EXITS.has(code))) {
        m.startTimedOut = false;
        toMaintenance("method_failed");
        return;
      }
      m.faults++;
      if (m.faults >= FAULT_THRESHOLD) {
        toMaintenance("fault_threshold_reached");
        return;
      }
      set("offline");
      return;
    }
    // phase === "running": the daemon went away by itself.
    const cause = signal === null
      ? "all processes in service exited"
      : dumpsCore(signal)
        ? "process dumped core"
        : "process received fatal signal from outside the service";
    log(`Stopping because ${cause}.`);
    log(`Executing stop method (${quoteMethod(ctx.methods.stop)}).`);
    if (code !== null && FATAL_EXITS.has(code)) {
      m.waitstatus = waitStatusOf(code, null);
      toMaintenance("method_failed");
      return;
    }
    set("offline");
  }

  /** Level-triggered follow-ups: the state the instance should move to given `enabled` and the process. */
  function settle(): void {
    for (let guard = 0; guard < 4; guard++) {
      if (m.proc === "none") {
        if ((m.state === "uninitialized" || m.state === "disabled") && m.enabled) {
          log("Enabled.");
          set("offline");
          continue;
        }
        if ((m.state === "uninitialized" || m.state === "offline") && !m.enabled) {
          log("Disabled.");
          set("disabled");
          continue;
        }
        if (m.state === "offline" && m.enabled && m.nextState === "none" && ctx.depsSatisfied !== false) startNow();
        return;
      }
      if (m.proc === "running" && isRunningState(m.state) && m.nextState === "none" && !m.enabled) {
        stop("Stopping because service disabled.", "disabled");
      } else if (m.proc === "running" && isRunningState(m.state) && m.nextState === "none" && ctx.depsSatisfied === false) {
        // svc.startd's graph sends STOP_RESET here: a restart its dependency caused is not
        // counted by the rate rule (a restarting xend must not put its dependents in maintenance).
        m.starts.reset();
        stop("Stopping because dependency activity requires stop.", "offline");
      }
      return;
    }
  }

  function startNow(): void {
    if (m.starts.record(ctx.now, ctx.rule)) {
      log("Restarting too quickly, changing state to maintenance.");
      toMaintenance("restarting_too_quickly");
      return;
    }
    set("offline", "online");
    log(`Executing start method ("${ctx.methods.start}").`);
    m.proc = "starting";
    m.startTimedOut = false;
    fx.push({ type: "spawn" });
  }
}
