import { describe, expect, it } from "vitest";
import { newMachine, step, type Effect, type Event, type Machine } from "../../src/smf/restarter/machine.ts";
import { signalNumber } from "../../src/smf/restarter/proc.ts";
import { DEFAULT_RATE_RULE, type RateRule } from "../../src/smf/restarter/rate.ts";

const methods = { start: "/usr/lib/xend", stop: ":kill", refresh: ":kill -HUP" };

/** A machine with a hand-driven clock: each event advances `now` by `dt` ms. */
function driver(init: Partial<Machine> = {}, rule: RateRule = DEFAULT_RATE_RULE) {
  let now = 1_000_000;
  const m = newMachine(now, init);
  const send = (ev: Event, dt = 1_000): Effect[] => {
    now += dt;
    return step(m, ev, { now, rule, methods, contract: 42, signalNumber });
  };
  const logs = (fx: Effect[]) => fx.filter((f) => f.type === "log").map((f) => (f as { message: string }).message);
  const kinds = (fx: Effect[]) => fx.filter((f) => f.type !== "log").map((f) => (f.type === "signal" ? `signal:${f.signal}` : f.type));
  return { m, send, logs, kinds, now: () => now };
}

/** Brings a disabled instance online. */
function online(d: ReturnType<typeof driver>) {
  d.send({ type: "enabled", value: true });
  d.send({ type: "ready", status: "online", reasons: [] });
}

describe("restarter state machine: enable, disable, restart, refresh", () => {
  it("enable takes a disabled instance offline, runs the start method, and goes online when the daemon answers", () => {
    const d = driver({ state: "disabled" });
    const fx = d.send({ type: "enabled", value: true });
    expect(d.logs(fx)).toEqual(["Enabled.", 'Executing start method ("/usr/lib/xend").']);
    expect(d.kinds(fx)).toEqual(["spawn"]);
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["offline", "online", "starting"]);
    const started = d.now();
    const ready = d.send({ type: "ready", status: "online", reasons: [] });
    expect(d.logs(ready)).toEqual(['Method "start" exited with status 0.']);
    expect([d.m.state, d.m.nextState, d.m.proc, d.m.waitstatus]).toEqual(["online", "none", "running", 0]);
    expect(d.m.stateTime).toBeGreaterThan(started);
  });

  it("a daemon that answers degraded makes the instance degraded with its reasons", () => {
    const d = driver({ state: "disabled" });
    d.send({ type: "enabled", value: true });
    d.send({ type: "ready", status: "degraded", reasons: ["plugin relocation failed in setup: EADDRINUSE"] });
    expect(d.m.state).toBe("degraded");
    expect(d.m.reason).toEqual(["plugin relocation failed in setup: EADDRINUSE"]);
    const back = d.send({ type: "status", status: "online", reasons: [] });
    expect(back).toEqual([]);
    expect([d.m.state, d.m.reason]).toEqual(["online", []]);
  });

  it("disable stops a running daemon with the stop method and ends disabled; from offline it just logs Disabled.", () => {
    const d = driver({ state: "disabled" });
    online(d);
    const fx = d.send({ type: "enabled", value: false });
    expect(d.logs(fx)).toEqual(["Stopping because service disabled.", "Executing stop method (:kill)."]);
    expect(d.kinds(fx)).toEqual(["signal:SIGTERM", "arm_stop_timer"]);
    expect([d.m.state, d.m.nextState]).toEqual(["online", "disabled"]);
    expect(d.send({ type: "exited", code: 0, signal: null })).toEqual([]);
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["disabled", "none", "none"]);

    const u = driver({ state: "uninitialized" });
    expect(u.logs(u.send({ type: "enabled", value: false }))).toEqual(["Disabled."]);
    expect(u.m.state).toBe("disabled");
  });

  it("enable during a stop for disable starts the daemon again once it has stopped", () => {
    const d = driver({ state: "disabled" });
    online(d);
    d.send({ type: "enabled", value: false });
    expect(d.send({ type: "enabled", value: true })).toEqual([]);
    const fx = d.send({ type: "exited", code: 0, signal: null });
    expect(d.logs(fx)).toEqual(["Enabled.", 'Executing start method ("/usr/lib/xend").']);
    expect(d.kinds(fx)).toEqual(["spawn"]);
  });

  it("restart acts only on a running instance: stop, then start again", () => {
    const off = driver({ state: "disabled" });
    expect(off.send({ type: "action", action: "restart" })).toEqual([]);
    expect(off.m.state).toBe("disabled");

    const d = driver({ state: "disabled" });
    online(d);
    const fx = d.send({ type: "action", action: "restart" });
    expect(d.logs(fx)).toEqual(["Stopping because service restarting.", "Executing stop method (:kill)."]);
    expect([d.m.state, d.m.nextState]).toEqual(["online", "offline"]);
    const after = d.send({ type: "exited", code: 0, signal: null });
    expect(d.logs(after)).toEqual(['Executing start method ("/usr/lib/xend").']);
    expect([d.m.state, d.m.nextState]).toEqual(["offline", "online"]);
    // A late status answer (a refresh or health poll) is no start: only the new daemon's ready brings it online.
    expect(d.send({ type: "status", status: "online", reasons: [] })).toEqual([]);
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["offline", "online", "starting"]);
    expect(d.logs(d.send({ type: "ready", status: "online", reasons: [] }))).toEqual(['Method "start" exited with status 0.']);
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["online", "none", "running"]);
  });

  it("refresh logs Rereading configuration., sends SIGHUP and asks for the status; the state stays", () => {
    const d = driver({ state: "disabled" });
    online(d);
    const t = d.m.stateTime;
    const fx = d.send({ type: "action", action: "refresh" });
    expect(d.logs(fx)).toEqual(["Rereading configuration.", "Executing refresh method (:kill -HUP)."]);
    expect(d.kinds(fx)).toEqual(["reload", "signal:SIGHUP", "poll_status"]);
    expect([d.m.state, d.m.stateTime]).toEqual(["online", t]);
    // Not running: the configuration is reread, nothing is signalled.
    const idle = driver({ state: "disabled" });
    const fx2 = idle.send({ type: "action", action: "refresh" });
    expect(idle.logs(fx2)).toEqual(["Rereading configuration."]);
    expect(idle.kinds(fx2)).toEqual(["reload"]);
  });
});

describe("restarter state machine: failures", () => {
  it("a daemon killed from outside is restarted", () => {
    const d = driver({ state: "disabled" });
    online(d);
    const fx = d.send({ type: "exited", code: null, signal: "SIGKILL" });
    expect(d.logs(fx)).toEqual([
      "Stopping because process received fatal signal from outside the service.",
      "Executing stop method (:kill).",
      'Executing start method ("/usr/lib/xend").',
    ]);
    expect(d.kinds(fx)).toEqual(["spawn"]);
    expect([d.m.state, d.m.nextState]).toEqual(["offline", "online"]);
  });

  it("an adopted daemon that vanished (status unknown) is 'all processes in service exited'; a core dump says so", () => {
    const d = driver({ state: "disabled" });
    online(d);
    expect(d.logs(d.send({ type: "exited", code: null, signal: null }))[0]).toBe("Stopping because all processes in service exited.");
    d.send({ type: "ready", status: "online", reasons: [] });
    expect(d.logs(d.send({ type: "exited", code: null, signal: "SIGSEGV" }))[0]).toBe("Stopping because process dumped core.");
  });

  it("SMF's fatal exit codes go to maintenance at once, at start or while running", () => {
    const d = driver({ state: "disabled" });
    const fx = d.send({ type: "enabled", value: true });
    expect(d.kinds(fx)).toEqual(["spawn"]);
    const failed = d.send({ type: "exited", code: 96, signal: null });
    expect(d.logs(failed)).toEqual(['Method "start" failed with exit status 96.']);
    expect(d.kinds(failed)).toEqual([]);
    expect([d.m.state, d.m.aux, d.m.waitstatus]).toEqual(["maintenance", "method_failed", 96 << 8]);

    const r = driver({ state: "disabled" });
    online(r);
    r.send({ type: "exited", code: 95, signal: null });
    expect([r.m.state, r.m.aux, r.m.waitstatus]).toEqual(["maintenance", "method_failed", 95 << 8]);
  });

  it("a start method failing with another status is retried at once, and the third failure is maintenance", () => {
    const d = driver({ state: "disabled" });
    d.send({ type: "enabled", value: true });
    const first = d.send({ type: "exited", code: 1, signal: null });
    expect(d.logs(first)).toEqual(['Method "start" failed with exit status 1.', 'Executing start method ("/usr/lib/xend").']);
    expect(d.kinds(first)).toEqual(["spawn"]);
    const second = d.send({ type: "exited", code: null, signal: "SIGKILL" });
    expect(d.logs(second)).toEqual(['Method "start" failed due to signal KILL.', 'Executing start method ("/usr/lib/xend").']);
    const third = d.send({ type: "exited", code: 2, signal: null });
    expect(d.logs(third)).toEqual(['Method "start" failed with exit status 2.']);
    expect([d.m.state, d.m.aux, d.m.waitstatus, d.m.proc]).toEqual(["maintenance", "fault_threshold_reached", 2 << 8, "none"]);
  });

  it("a successful start resets the fault count", () => {
    const d = driver({ state: "disabled" });
    d.send({ type: "enabled", value: true });
    d.send({ type: "exited", code: 1, signal: null });
    d.send({ type: "exited", code: 1, signal: null });
    expect(d.m.faults).toBe(2);
    d.send({ type: "ready", status: "online", reasons: [] });
    expect(d.m.faults).toBe(0);
  });

  it("five starts less than 10 minutes apart on average: Restarting too quickly, maintenance", () => {
    const d = driver({ state: "disabled" });
    online(d);
    for (let i = 0; i < 3; i++) {
      const fx = d.send({ type: "exited", code: null, signal: "SIGKILL" }, 30_000);
      expect(d.kinds(fx)).toEqual(["spawn"]);
      d.send({ type: "ready", status: "online", reasons: [] }, 1_000);
    }
    const fx = d.send({ type: "exited", code: null, signal: "SIGKILL" }, 30_000);
    expect(d.logs(fx)).toEqual([
      "Stopping because process received fatal signal from outside the service.",
      "Executing stop method (:kill).",
      "Restarting too quickly, changing state to maintenance.",
    ]);
    expect(d.kinds(fx)).toEqual([]);
    expect([d.m.state, d.m.aux]).toEqual(["maintenance", "restarting_too_quickly"]);
  });

  it("the same deaths spread over more than the period keep being restarted", () => {
    const d = driver({ state: "disabled" });
    online(d);
    for (let i = 0; i < 8; i++) {
      const fx = d.send({ type: "exited", code: null, signal: "SIGKILL" }, 11 * 60_000);
      expect(d.kinds(fx)).toEqual(["spawn"]);
      d.send({ type: "ready", status: "online", reasons: [] }, 1_000);
    }
    expect(d.m.state).toBe("online");
  });

  it("startd/critical_failure_count and _period change the rule", () => {
    const d = driver({ state: "disabled" }, { count: 3, periodMs: 2_000 });
    online(d);
    d.send({ type: "exited", code: null, signal: "SIGKILL" }, 500);
    d.send({ type: "ready", status: "online", reasons: [] }, 100);
    d.send({ type: "exited", code: null, signal: "SIGKILL" }, 500);
    expect([d.m.state, d.m.aux]).toEqual(["maintenance", "restarting_too_quickly"]);
  });

  it("a start that outlives its timeout is killed and is fatal", () => {
    const d = driver({ state: "disabled" });
    d.send({ type: "enabled", value: true });
    const fx = d.send({ type: "start_timeout" }, 60_000);
    expect(d.logs(fx)).toEqual(["Method or service exit timed out.  Killing contract 42."]);
    expect(d.kinds(fx)).toEqual(["signal:SIGKILL"]);
    d.send({ type: "exited", code: null, signal: "SIGKILL" });
    expect([d.m.state, d.m.aux, d.m.waitstatus]).toEqual(["maintenance", "method_failed", 9]);
  });

  it("a stop that outlives its timeout is finished with SIGKILL", () => {
    const d = driver({ state: "disabled" });
    online(d);
    d.send({ type: "enabled", value: false });
    const fx = d.send({ type: "stop_timeout" }, 60_000);
    expect(d.kinds(fx)).toEqual(["signal:SIGKILL"]);
    d.send({ type: "exited", code: null, signal: "SIGKILL" });
    expect(d.m.state).toBe("disabled");
  });
});

describe("restarter state machine: maintenance, clear, degraded", () => {
  it("mark maintenance stops the daemon; clear leaves maintenance, resets the rate history and starts again", () => {
    const d = driver({ state: "disabled" });
    online(d);
    const fx = d.send({ type: "action", action: "maint_on" });
    expect(d.logs(fx)).toEqual(["Stopping for maintenance due to administrative_request.", "Executing stop method (:kill)."]);
    d.send({ type: "exited", code: 0, signal: null });
    expect([d.m.state, d.m.aux, d.m.temporary]).toEqual(["maintenance", "administrative_request", false]);
    // enable does not leave maintenance
    expect(d.send({ type: "enabled", value: true })).toEqual([]);
    const clear = d.send({ type: "action", action: "maint_off" });
    expect(d.logs(clear)).toEqual([
      "Leaving maintenance because clear requested.", "Enabled.", 'Executing start method ("/usr/lib/xend").',
    ]);
    expect(d.m.starts.recorded.length).toBe(1);
  });

  it("mark -I kills at once; -t is remembered as temporary", () => {
    const d = driver({ state: "disabled" });
    online(d);
    const fx = d.send({ type: "action", action: "maint_on_immtemp" });
    expect(d.logs(fx)).toEqual(["Stopping for maintenance due to administrative_request."]);
    expect(d.kinds(fx)).toEqual(["signal:SIGKILL"]);
    d.send({ type: "exited", code: null, signal: "SIGKILL" });
    expect([d.m.state, d.m.temporary]).toEqual(["maintenance", true]);
  });

  it("maintenance on a stopped instance is immediate; a second request is ignored", () => {
    const d = driver({ state: "disabled" });
    d.send({ type: "action", action: "maint_on" });
    expect(d.m.state).toBe("maintenance");
    expect(d.send({ type: "action", action: "maint_on" })).toEqual([]);
  });

  it("disable pulls an instance out of maintenance", () => {
    const d = driver({ state: "maintenance", aux: "restarting_too_quickly", enabled: true });
    const fx = d.send({ type: "enabled", value: false });
    expect(d.logs(fx)).toEqual(["Leaving maintenance because disable requested.", "Disabled."]);
    expect([d.m.state, d.m.aux]).toEqual(["disabled", "none"]);
  });

  it("mark degraded only from online; the daemon's own status does not undo it; clear (restore) does", () => {
    const off = driver({ state: "disabled" });
    off.send({ type: "action", action: "degraded" });
    expect(off.m.state).toBe("disabled");

    const d = driver({ state: "disabled" });
    online(d);
    d.send({ type: "action", action: "degraded" });
    expect([d.m.state, d.m.aux]).toEqual(["degraded", "administrative_request"]);
    d.send({ type: "status", status: "online", reasons: [] });
    expect(d.m.state).toBe("degraded");
    const fx = d.send({ type: "action", action: "maint_off" });
    expect(d.kinds(fx)).toEqual(["poll_status"]);
    expect([d.m.state, d.m.aux]).toEqual(["online", "none"]);
  });
});
