/**
 * Runs one instance's state machine against the real world: spawns the daemon detached (its own
 * session, stdout/stderr on a file descriptor of the service log, so that killing the restarter
 * never takes the daemon with it), watches it (its exit if it is our child, its pid if it was
 * adopted), asks it for its status, and records every change in the repository and the log.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type { Paths } from "../../paths.ts";
import { unixJson } from "../../runtime/http-client.ts";
import { RESTARTER_SERVICE, type InstanceData, type RepoData } from "../model.ts";
import type { Repository } from "../repository.ts";
import { newMachine, step, type Effect, type Event, type Machine, type Methods } from "./machine.ts";
import { signalNumber } from "./proc.ts";
import { isProcessOf, pidAlive, readPidFile } from "../../runtime/process.ts";
import { DEFAULT_RATE_RULE, type RateRule } from "./rate.ts";
import {
  enabledOf, locate, methodConfigOf, readStatus, takeActions, writeStatus,
} from "./record.ts";
import { SERVICE_LOG_ENV, SUPERVISED_ENV } from "./env.ts";
import { appendServiceLog } from "./svclog.ts";
import type { DaemonStatus } from "../../daemon-status.ts";

export type { DaemonStatus };

export interface SupervisorOptions {
  paths: Paths;
  repo: Repository;
  service: string;
  instance: string;
  /** argv that runs the daemon (selfCommand() + "xend"). */
  command: string[];
  now?: () => number;
  /** Report of the restarter's own troubles (its stderr goes to svc.startd.log). */
  warn?: (message: string) => void;
  /**
   * Runs before the daemon is sent SIGTERM (and before the stop timer starts): the restarter
   * stops the instance's dependents first (svc:/system/xvm/domains, whose stop method needs the
   * daemon). A SIGKILL is never held back.
   */
  beforeStop?: () => Promise<void>;
  /** Called after each recorded change of state (dependents re-evaluate theirs). */
  onChange?: () => void;
}

const READY_POLL_MS = 40;
const WATCH_MS = 200;
const HEALTH_MS = 5_000;
const REFRESH_POLLS_MS = [150, 600, 2_000];

export class Supervisor {
  readonly fmri: string;
  m: Machine;
  private pid?: number;
  private child?: ChildProcess;
  private contract?: number;
  private startedAt?: number;
  private rule: RateRule = DEFAULT_RATE_RULE;
  private methods: Methods = { start: "", stop: ":kill", refresh: ":kill -HUP" };
  private startTimeoutMs = 60_000;
  private stopTimeoutMs = 60_000;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private startTimer?: ReturnType<typeof setTimeout>;
  private stopTimer?: ReturnType<typeof setTimeout>;
  private watchTimer?: ReturnType<typeof setInterval>;
  private readyTimer?: ReturnType<typeof setInterval>;
  private stopGate?: Promise<void>;
  private queue: Event[] = [];
  private draining = false;
  private closed = false;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;

  constructor(private readonly o: SupervisorOptions) {
    this.fmri = `svc:/${o.service}:${o.instance}`;
    this.now = o.now ?? Date.now;
    this.warn = o.warn ?? ((msg) => process.stderr.write(`${msg}\n`));
    this.m = newMachine(this.now());
  }

  get logPath(): string {
    return this.o.paths.serviceLog(this.fmri);
  }

  get daemonPid(): number | undefined {
    return this.pid;
  }

  /**
   * Takes over from the repository. On a fresh boot the restarter group starts over (maintenance
   * asked without -t survives it); otherwise the recorded state stands and a running daemon is adopted.
   */
  boot(fresh: boolean): void {
    const data = this.o.repo.read();
    const loc = locate(data, this.o.service, this.o.instance);
    if (!loc) throw new Error(`${this.fmri} is not in the repository`);
    this.readConfig(data);
    const stored = readStatus(loc.inst);
    const now = this.now();
    this.contract = stored.contract;
    if (fresh) {
      const keep = stored.state === "maintenance" && !stored.temporary;
      // A disabled instance that stays disabled is left as it was: no "Disabled." line at every boot.
      const stillDisabled = stored.state === "disabled" && !enabledOf(loc.inst).effective;
      this.m = newMachine(now, keep
        ? { state: "maintenance", aux: stored.aux, waitstatus: stored.waitstatus, stateTime: stored.stateTime ?? now }
        : stillDisabled
          ? { state: "disabled", stateTime: stored.stateTime ?? now }
          : { state: "uninitialized" });
      this.contract = undefined;
      this.persist();
      return;
    }
    this.m = newMachine(stored.stateTime ?? now, {
      state: stored.state, nextState: stored.nextState, aux: stored.aux, reason: stored.reason,
      temporary: stored.temporary, waitstatus: stored.waitstatus, enabled: enabledOf(loc.inst).effective,
    });
    const live = this.liveDaemon();
    if (!live) {
      // The daemon went away while no restarter watched it (or was never there).
      this.contract = undefined;
      if (this.m.state === "online" || this.m.state === "degraded" || this.m.nextState !== "none") {
        this.m.nextState = "none";
        this.m.proc = "running";
        this.dispatch({ type: "exited", code: null, signal: null });
      }
      this.persist();
      return;
    }
    this.adopt(live);
    if (this.m.state === "online" || this.m.state === "degraded") {
      this.m.proc = "running";
      this.pollStatus();
      this.health();
    } else if (this.m.nextState === "online") {
      this.m.proc = "starting";
      this.awaitReady();
    } else if (this.m.nextState !== "none") {
      this.m.proc = "stopping";
      this.perform([{ type: "signal", signal: "SIGTERM" }, { type: "arm_stop_timer" }]);
    } else {
      // A daemon started by hand while the service is not running: not ours until a start adopts it.
      this.unwatch();
      this.pid = undefined;
    }
    this.persist();
  }

  /** Reads enabled and the pending requests (taking them out of the repository) and acts on them. */
  poll(): void {
    if (this.closed) return;
    let enabled = this.m.enabled;
    let actions: ReturnType<typeof takeActions> = [];
    const { data } = this.o.repo.update((d) => {
      const loc = locate(d, this.o.service, this.o.instance);
      if (!loc) return;
      enabled = enabledOf(loc.inst).effective;
      actions = takeActions(loc.inst);
    });
    this.readConfig(data);
    this.dispatch({ type: "enabled", value: enabled });
    for (const action of actions) this.dispatch({ type: "action", action });
  }

  dispatch(event: Event): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const ev = this.queue.shift()!;
        const before = JSON.stringify(this.snapshot());
        const fx = step(this.m, ev, {
          now: this.now(), rule: this.rule, methods: this.methods, contract: this.contract, signalNumber,
        });
        const logs = fx.filter((f): f is Extract<Effect, { type: "log" }> => f.type === "log").map((f) => f.message);
        if (!appendServiceLog(this.logPath, logs, new Date(this.now())) && logs.length > 0) {
          this.warn(`cannot append to ${this.logPath}: ${logs.join(" ")}`);
        }
        this.perform(fx);
        if (JSON.stringify(this.snapshot()) !== before) {
          this.persist();
          this.o.onChange?.();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Nothing to supervise: the instance is disabled and settled, no daemon runs and no timer is
   * pending. The restarter then leaves (see server.ts), so that `svcadm disable -s` on a root where
   * nothing runs starts nothing that stays running.
   */
  idle(): boolean {
    return this.m.state === "disabled" && this.m.nextState === "none" && this.m.proc === "none"
      && this.pid === undefined && this.child === undefined && this.timers.size === 0 && !this.m.enabled;
  }

  /** Stops watching (the daemon keeps running). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.stopTimer) clearTimeout(this.stopTimer);
    if (this.readyTimer) clearInterval(this.readyTimer);
    this.unwatch();
    this.child?.removeAllListeners();
    this.child?.unref();
  }

  private snapshot(): unknown {
    const { starts: _s, faults: _f, ...rest } = this.m;
    return { ...rest, pid: this.pid, contract: this.contract };
  }

  private readConfig(data: RepoData): void {
    const c = methodConfigOf(data, this.o.service, this.o.instance);
    if (!c) return;
    ({ rule: this.rule, methods: this.methods, startTimeoutMs: this.startTimeoutMs, stopTimeoutMs: this.stopTimeoutMs } = c);
  }

  private persist(): void {
    const m = this.m;
    const running = m.proc !== "none";
    try {
      this.o.repo.update((d) => {
        const loc = locate(d, this.o.service, this.o.instance);
        if (!loc) return;
        writeStatus(loc.inst, m, {
          pid: running ? this.pid : undefined,
          contract: running ? this.contract : undefined,
          logfile: this.startedAt !== undefined || readStatus(loc.inst).logfile ? this.logPath : undefined,
          startedAt: this.startedAt,
        });
      });
    } catch (error) {
      this.warn(`cannot record the state of ${this.fmri}: ${(error as Error).message}`);
    }
  }

  private perform(fx: Effect[]): void {
    for (const f of fx) {
      switch (f.type) {
        case "log":
          break;
        case "spawn":
          this.start();
          break;
        case "signal":
          if (f.signal === "SIGTERM" && this.o.beforeStop) {
            const pid = this.pid;
            const gate: Promise<void> = this.o.beforeStop().catch((error) => this.warn(`stopping the dependents of ${this.fmri}: ${(error as Error).message}`));
            this.stopGate = gate;
            void gate.then(() => {
              if (this.stopGate === gate) this.stopGate = undefined;
              if (!this.closed && this.pid === pid) this.kill("SIGTERM");
            });
            break;
          }
          this.kill(f.signal);
          break;
        case "arm_stop_timer": {
          const arm = () => {
            if (this.closed) return;
            if (this.stopTimer) clearTimeout(this.stopTimer);
            if (this.stopTimeoutMs > 0) {
              this.stopTimer = setTimeout(() => this.dispatch({ type: "stop_timeout" }), this.stopTimeoutMs);
            }
          };
          if (this.stopGate) void this.stopGate.then(arm);
          else arm();
          break;
        }
        case "poll_status":
          for (const ms of REFRESH_POLLS_MS) this.later(ms, () => this.pollStatus());
          break;
        case "reload":
          this.readConfig(this.o.repo.read());
          break;
      }
    }
  }

  private kill(signal: NodeJS.Signals): void {
    if (!this.pid) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone: its exit is on its way
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  /** The daemon the pid file names, if it is alive and is a daemon of ours. */
  private liveDaemon(): number | undefined {
    const pid = readPidFile(this.o.paths.pidFile);
    return pid && isProcessOf(pid, "xend") ? pid : undefined;
  }

  private nextContract(): number {
    let id = 0;
    try {
      this.o.repo.update((d) => {
        const pgs = d.services[RESTARTER_SERVICE]?.instances.default?.pgs;
        if (!pgs) return;
        const prop = (pgs.restarter ??= { type: "framework", flags: 1, props: {} }).props;
        id = Number(prop.next_contract?.values[0] ?? "100") + 1;
        prop.next_contract = { type: "count", values: [String(id)] };
      });
    } catch {
      id = this.pid ?? 0;
    }
    return id;
  }

  private start(): void {
    this.startedAt = this.now();
    const live = this.liveDaemon();
    if (live) {
      // A daemon already serves this root (left by a crashed restarter or started by hand): take it on.
      this.adopt(live);
      this.contract = this.nextContract();
      this.awaitReady();
      return;
    }
    const [cmd, ...args] = this.o.command;
    let fd: number | "ignore" = "ignore";
    try {
      mkdirSync(dirname(this.logPath), { recursive: true });
      fd = openSync(this.logPath, "a");
    } catch (error) {
      this.warn(`cannot open ${this.logPath} for the daemon's output: ${(error as Error).message}`);
    }
    let child: ChildProcess;
    try {
      child = spawn(cmd!, args, {
        detached: true,
        stdio: ["ignore", fd, fd],
        // XVM_SUPERVISED: the daemon watches its restarter and starts another if this one is killed.
        // XVM_SERVICE_LOG: once its logs are set up the daemon appends its output to the service
        // log through the rotating writer rather than the descriptor (which a rotation leaves behind).
        env: { ...process.env, XVM_ROOT: this.o.paths.root, [SUPERVISED_ENV]: "1", [SERVICE_LOG_ENV]: this.logPath },
      });
    } catch (error) {
      if (typeof fd === "number") closeSync(fd);
      this.warn(`cannot run ${this.o.command.join(" ")}: ${(error as Error).message}`);
      this.later(0, () => this.dispatch({ type: "exited", code: 127, signal: null }));
      return;
    }
    // The child holds its own copy of the descriptor.
    if (typeof fd === "number") closeSync(fd);
    this.child = child;
    this.pid = child.pid;
    this.contract = this.nextContract();
    child.once("error", (error) => {
      if (this.child !== child) return;
      this.warn(`cannot run ${this.o.command.join(" ")}: ${error.message}`);
      if (child.pid === undefined) this.onExit(child, 127, null);
    });
    child.once("exit", (code, signal) => this.onExit(child, code, signal));
    this.awaitReady();
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.gone();
    this.dispatch({ type: "exited", code, signal });
  }

  private gone(): void {
    this.pid = undefined;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.stopTimer) clearTimeout(this.stopTimer);
    if (this.readyTimer) clearInterval(this.readyTimer);
    this.startTimer = this.stopTimer = this.readyTimer = undefined;
    this.unwatch();
  }

  /** Watches a process that is not our child: polling is all there is without pidfds. */
  private adopt(pid: number): void {
    this.child = undefined;
    this.pid = pid;
    this.unwatch();
    this.watchTimer = setInterval(() => {
      if (this.pid !== pid || pidAlive(pid)) return;
      this.gone();
      this.dispatch({ type: "exited", code: null, signal: null });
    }, WATCH_MS);
  }

  private unwatch(): void {
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
  }

  private async status(timeoutMs = 1_000): Promise<DaemonStatus | undefined> {
    try {
      const s = await unixJson<DaemonStatus>(this.o.paths.controlSocket, "GET", "/status", undefined, timeoutMs);
      if (!s || s.pid !== this.pid) return undefined;
      return s;
    } catch {
      return undefined;
    }
  }

  /** Start method: done when the daemon answers /status; bounded by start/timeout_seconds. */
  private awaitReady(): void {
    const pid = this.pid;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.readyTimer) clearInterval(this.readyTimer);
    if (this.startTimeoutMs > 0) {
      this.startTimer = setTimeout(() => this.dispatch({ type: "start_timeout" }), this.startTimeoutMs);
    }
    let asking = false;
    const timer = setInterval(async () => {
      if (asking) return;
      asking = true;
      const s = await this.status(500);
      asking = false;
      if (!s || this.pid !== pid || this.readyTimer !== timer) return;
      clearInterval(timer);
      this.readyTimer = undefined;
      if (this.startTimer) clearTimeout(this.startTimer);
      this.startTimer = undefined;
      this.dispatch({ type: "ready", status: s.state === "degraded" ? "degraded" : "online", reasons: s.reasons ?? [] });
      this.health();
    }, READY_POLL_MS);
    this.readyTimer = timer;
  }

  /** Keeps `degraded` current: a plugin may fail (or recover) after the start. */
  private health(): void {
    const pid = this.pid;
    this.later(HEALTH_MS, () => {
      if (this.closed || this.pid !== pid || this.m.proc !== "running") return;
      this.pollStatus();
      this.health();
    });
  }

  private pollStatus(): void {
    const pid = this.pid;
    void this.status().then((s) => {
      if (!s || this.pid !== pid) return;
      this.dispatch({ type: "status", status: s.state === "degraded" ? "degraded" : "online", reasons: s.reasons ?? [] });
    });
  }
}

/** The restarter's own instance: online while it runs. */
export function markRestarter(inst: InstanceData, state: "online" | "offline", pid: number | undefined, now: number, logfile: string): void {
  const m = newMachine(now, { state, enabled: true });
  writeStatus(inst, m, { pid, logfile });
}
