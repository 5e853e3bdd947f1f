/**
 * Runs a transient service (startd/duration = transient: no process stays behind) with the same
 * state machine as xend's (machine.ts): its start and stop methods are asynchronous functions the
 * restarter runs itself — for svc:/system/xvm/domains, calls to xend's control API. Online means
 * "the start method succeeded"; a stop runs the stop method. The machine's process words map as:
 * spawn = run the start method; SIGTERM = run the stop method; SIGKILL (a method outlived its
 * timeout) = stop waiting for it, which the machine counts as the method failing.
 *
 * Dependencies gate it: it starts only when they are satisfied, and is stopped (its stop method
 * run) as soon as they are not, which includes a dependency about to stop — the restarter holds
 * xend's SIGTERM until this instance has stopped (`settled()`).
 */
import type { Paths } from "../../paths.ts";
import type { RepoData } from "../model.ts";
import type { Repository } from "../repository.ts";
import { newMachine, step, type Effect, type Event, type Machine, type Methods } from "./machine.ts";
import { signalNumber } from "./proc.ts";
import { DEFAULT_RATE_RULE, type RateRule } from "./rate.ts";
import { enabledOf, locate, methodConfigOf, readStatus, takeActions, writeStatus } from "./record.ts";
import { appendServiceLog } from "./svclog.ts";
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

/** A method: resolves with the lines it printed (they go to the service log), rejects on failure. */
export type TransientMethod = (timeoutMs: number) => Promise<string[]>;

export interface TransientOptions {
  paths: Paths;
  repo: Repository;
  service: string;
  instance: string;
  start: TransientMethod;
  stop: TransientMethod;
  /** Are the instance's dependencies satisfied now (from the restarter's knowledge)? */
  depsSatisfied: (data?: RepoData) => boolean;
  now?: () => number;
  warn?: (message: string) => void;
}

export class TransientSupervisor {
  readonly fmri: string;
  m: Machine;
  private rule: RateRule = DEFAULT_RATE_RULE;
  private methods: Methods = { start: "", stop: "", refresh: ":true" };
  private startTimeoutMs = 60_000;
  private stopTimeoutMs = 60_000;
  /** The method running now (each run has its own token: a late answer of an abandoned one is ignored). */
  private running?: { kind: "start" | "stop"; token: number };
  private tokens = 0;
  private stopTimer?: ReturnType<typeof setTimeout>;
  private startTimer?: ReturnType<typeof setTimeout>;
  private queue: Event[] = [];
  private draining = false;
  private closed = false;
  private waiters: Array<() => void> = [];
  private readonly now: () => number;
  private readonly warn: (message: string) => void;

  constructor(private readonly o: TransientOptions) {
    this.fmri = `svc:/${o.service}:${o.instance}`;
    this.now = o.now ?? Date.now;
    this.warn = o.warn ?? ((msg) => process.stderr.write(`${msg}\n`));
    this.m = newMachine(this.now());
  }

  get logPath(): string {
    return this.o.paths.serviceLog(this.fmri);
  }

  /**
   * Takes over from the repository. A fresh boot starts over (maintenance asked without -t
   * survives it); otherwise the recorded state stands — a method that was running when the
   * previous restarter died is not running any more: its instance goes back to offline (a start)
   * or on to where the stop was going.
   */
  boot(fresh: boolean): void {
    const data = this.o.repo.read();
    const loc = locate(data, this.o.service, this.o.instance);
    if (!loc) throw new Error(`${this.fmri} is not in the repository`);
    this.readConfig(data);
    const stored = readStatus(loc.inst);
    const now = this.now();
    const enabled = enabledOf(loc.inst).effective;
    if (fresh) {
      const keep = stored.state === "maintenance" && !stored.temporary;
      const stillDisabled = stored.state === "disabled" && !enabled;
      this.m = newMachine(now, keep
        ? { state: "maintenance", aux: stored.aux, waitstatus: stored.waitstatus, stateTime: stored.stateTime ?? now }
        : stillDisabled ? { state: "disabled", stateTime: stored.stateTime ?? now } : { state: "uninitialized" });
    } else {
      this.m = newMachine(stored.stateTime ?? now, {
        state: stored.state, nextState: stored.nextState, aux: stored.aux, reason: stored.reason,
        temporary: stored.temporary, waitstatus: stored.waitstatus, enabled,
      });
      if (stored.nextState === "online") {
        this.m.state = "offline";
        this.m.nextState = "none";
      } else if (stored.nextState !== "none") {
        this.m.state = stored.nextState === "maintenance" ? "maintenance" : stored.nextState;
        this.m.nextState = "none";
      }
      if (this.m.state === "online" || this.m.state === "degraded") this.m.proc = "running";
    }
    this.persist();
  }

  /** Reads enabled and the pending requests and acts on them, then re-checks the dependencies. */
  poll(): void {
    if (this.closed) return;
    let enabled = this.m.enabled;
    let actions: ReturnType<typeof takeActions> = [];
    let exists = true;
    const { data } = this.o.repo.update((d) => {
      const loc = locate(d, this.o.service, this.o.instance);
      if (!loc) {
        exists = false;
        return;
      }
      enabled = enabledOf(loc.inst).effective;
      actions = takeActions(loc.inst);
    });
    if (!exists) {
      // Deleted (svccfg delete -f): nothing of it is left to run; the daemon takes its work back
      // at its next start (src/daemon/daemon.ts).
      this.warn(`${this.fmri} is no longer in the repository: not running it any more`);
      this.close();
      return;
    }
    this.readConfig(data);
    this.dispatch({ type: "enabled", value: enabled });
    for (const action of actions) this.dispatch({ type: "action", action });
    this.dispatch({ type: "dependencies" });
  }

  dispatch(event: Event): void {
    if (this.closed) return;
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const ev = this.queue.shift()!;
        const before = JSON.stringify(this.snapshot());
        const fx = step(this.m, ev, {
          now: this.now(), rule: this.rule, methods: this.methods, signalNumber, depsSatisfied: this.o.depsSatisfied(),
        });
        this.log(fx.filter((f): f is Extract<Effect, { type: "log" }> => f.type === "log").map((f) => f.message));
        this.perform(fx);
        if (JSON.stringify(this.snapshot()) !== before) this.persist();
      }
    } finally {
      this.draining = false;
    }
    if (this.m.proc !== "starting" && this.m.proc !== "stopping") {
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
    }
  }

  /**
   * Resolves once no method runs and none is due: after a dependency began to stop, this is when
   * this instance has stopped (or never needed to).
   */
  settled(): Promise<void> {
    this.dispatch({ type: "dependencies" });
    if (this.closed || (this.m.proc !== "starting" && this.m.proc !== "stopping")) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Nothing to do until something changes: no method runs, and the instance is settled where it is. */
  idle(): boolean {
    if (this.running || this.m.proc === "starting" || this.m.proc === "stopping" || this.m.nextState !== "none") return false;
    if (this.m.state === "disabled" || this.m.state === "maintenance") return !this.m.enabled || this.m.state === "maintenance";
    // Enabled and offline, waiting for its dependencies, or online with nothing running.
    return this.m.state === "offline" ? !this.o.depsSatisfied() : true;
  }

  get deleted(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    if (this.stopTimer) clearTimeout(this.stopTimer);
    if (this.startTimer) clearTimeout(this.startTimer);
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  private snapshot(): unknown {
    const { starts: _s, faults: _f, ...rest } = this.m;
    return rest;
  }

  private readConfig(data: RepoData): void {
    const c = methodConfigOf(data, this.o.service, this.o.instance);
    if (!c) return;
    ({ rule: this.rule, methods: this.methods, startTimeoutMs: this.startTimeoutMs, stopTimeoutMs: this.stopTimeoutMs } = c);
  }

  private persist(): void {
    const m = this.m;
    try {
      this.o.repo.update((d) => {
        const loc = locate(d, this.o.service, this.o.instance);
        if (!loc) return;
        writeStatus(loc.inst, m, { logfile: this.logPath });
      });
    } catch (error) {
      this.warn(`cannot record the state of ${this.fmri}: ${(error as Error).message}`);
    }
  }

  private log(messages: string[]): void {
    if (!appendServiceLog(this.logPath, messages, new Date(this.now())) && messages.length > 0) {
      this.warn(`cannot append to ${this.logPath}: ${messages.join(" ")}`);
    }
  }

  /** A method's own output goes to the log unbracketed, as a method's stdout does under svc.startd. */
  private output(lines: string[]): void {
    if (lines.length === 0) return;
    try {
      mkdirSync(dirname(this.logPath), { recursive: true });
      appendFileSync(this.logPath, lines.map((l) => `${l}\n`).join(""));
    } catch (error) {
      this.warn(`cannot append to ${this.logPath}: ${(error as Error).message}`);
    }
  }

  private perform(fx: Effect[]): void {
    for (const f of fx) {
      switch (f.type) {
        case "spawn":
          this.run("start");
          break;
        case "signal":
          if (f.signal === "SIGTERM") this.run("stop");
          else if (f.signal === "SIGKILL") this.abandon();
          // SIGHUP: a refresh; this service has no refresh method (":true").
          break;
        case "arm_stop_timer":
          break;
        case "reload":
          this.readConfig(this.o.repo.read());
          break;
        default:
          break;
      }
    }
  }

  private run(kind: "start" | "stop"): void {
    const token = ++this.tokens;
    this.running = { kind, token };
    const timeoutMs = kind === "start" ? this.startTimeoutMs : this.stopTimeoutMs;
    const method = kind === "start" ? this.o.start : this.o.stop;
    if (timeoutMs > 0) {
      const timer = setTimeout(() => {
        if (this.running?.token === token) this.dispatch({ type: kind === "start" ? "start_timeout" : "stop_timeout" });
      }, timeoutMs);
      if (kind === "start") this.startTimer = timer;
      else this.stopTimer = timer;
    }
    // Later, not now: the machine is between two steps.
    setImmediate(() => {
      method(timeoutMs).then(
        (lines) => this.finish(token, kind, lines, 0),
        (error: unknown) => this.finish(token, kind, [`${this.fmri}: ${kind} method: ${(error as Error).message ?? String(error)}`], 1),
      );
    });
  }

  private finish(token: number, kind: "start" | "stop", lines: string[], code: number): void {
    if (this.running?.token !== token || this.closed) return;
    this.running = undefined;
    if (kind === "start" && this.startTimer) clearTimeout(this.startTimer);
    if (kind === "stop" && this.stopTimer) clearTimeout(this.stopTimer);
    this.output(lines);
    if (kind === "start") {
      if (code === 0) this.dispatch({ type: "ready", status: "online", reasons: [] });
      else this.dispatch({ type: "exited", code, signal: null });
      return;
    }
    this.log([`Method "stop" ${code === 0 ? "exited with status 0" : `failed with exit status ${code}`}.`]);
    this.dispatch({ type: "exited", code, signal: null });
  }

  /** A method outlived its timeout: stop waiting (its late answer is ignored). */
  private abandon(): void {
    const r = this.running;
    if (!r) return;
    this.running = undefined;
    this.dispatch({ type: "exited", code: null, signal: "SIGKILL" });
  }
}
