import { beforeAll, describe, expect, it } from "vitest";
import { seedRepository } from "../../src/smf/manifest.ts";
import { XEND_INSTANCE, XEND_SERVICE, firstValue, takeSnapshot } from "../../src/smf/model.ts";
import { newMachine } from "../../src/smf/restarter/machine.ts";
import {
  enabledOf, forgetNonpersistent, methodsOf, rateRuleOf, readStatus, requestAction, setEnabled, takeActions, writeStatus,
} from "../../src/smf/restarter/record.ts";
import { smfLogLine } from "../../src/smf/restarter/svclog.ts";

beforeAll(() => {
  process.env.TZ = "UTC";
});

function xend() {
  const data = seedRepository(0);
  const svc = data.services[XEND_SERVICE]!;
  return { data, svc, inst: svc.instances[XEND_INSTANCE]! };
}

describe("what the restarter keeps in the repository", () => {
  it("enable/disable write general/enabled; -t writes only general_ovr (nonpersistent)", () => {
    const { inst } = xend();
    expect(enabledOf(inst)).toEqual({ persistent: false, temporary: undefined, effective: false });
    setEnabled(inst, true, true);
    expect(enabledOf(inst)).toEqual({ persistent: false, temporary: true, effective: true });
    expect(inst.pgs.general_ovr!.flags & 1).toBe(1);
    setEnabled(inst, true, false);
    expect(enabledOf(inst)).toEqual({ persistent: true, temporary: undefined, effective: true });
    expect(inst.pgs.general_ovr).toBeUndefined();
  });

  it("administrative requests are taken oldest first and removed", () => {
    const { inst } = xend();
    const now = Date.now();
    requestAction(inst, "restart", now);
    requestAction(inst, "maint_off", now);
    // Same millisecond: the later request still sorts after the earlier one.
    expect(inst.pgs.restarter_actions!.props.maint_off!.values[0]).toBe((BigInt(now) * 1_000_000n + 1n).toString());
    // A request another process wrote earlier sorts first.
    inst.pgs.restarter_actions!.props.refresh = { type: "integer", values: [(BigInt(now - 5) * 1_000_000n).toString()] };
    expect(takeActions(inst)).toEqual(["refresh", "restart", "maint_off"]);
    expect(inst.pgs.restarter_actions).toBeUndefined();
    expect(takeActions(inst)).toEqual([]);
  });

  it("state is written to restarter/* and read back", () => {
    const { inst } = xend();
    const m = newMachine(1_500, { state: "maintenance", aux: "restarting_too_quickly", temporary: true, waitstatus: 9 });
    writeStatus(inst, m, { pid: 1234, contract: 101, logfile: "/r/x.log" });
    expect(firstValue(inst.pgs, "restarter", "state_timestamp")).toBe("1.500000000");
    expect(readStatus(inst)).toEqual({
      state: "maintenance", nextState: "none", stateTime: 1_500, aux: "restarting_too_quickly", reason: [], temporary: true,
      startPid: 1234, contract: 101, waitstatus: 9, logfile: "/r/x.log",
    });
    writeStatus(inst, newMachine(2_000, { state: "disabled" }));
    expect(inst.pgs.restarter!.props.start_pid!.values).toEqual([]);
    expect(inst.pgs.restarter!.props.contract!.values).toEqual([]);
  });

  it("a fresh boot forgets general_ovr and pending requests, keeps the restarter group and persistent settings", () => {
    const { inst } = xend();
    setEnabled(inst, true, false);
    setEnabled(inst, false, true);
    requestAction(inst, "restart");
    forgetNonpersistent(inst);
    expect(Object.keys(inst.pgs).sort()).toEqual(["config", "general", "restarter"]);
    expect(enabledOf(inst).effective).toBe(true);
  });

  it("reads the rate rule and the method exec strings from the running snapshot", () => {
    const { data, svc, inst } = xend();
    expect(methodsOf(svc, inst)).toEqual({ start: "/usr/lib/xend", stop: ":kill", refresh: ":kill -HUP" });
    inst.pgs.startd = { type: "framework", flags: 0, props: { critical_failure_count: { type: "count", values: ["3"] } } };
    expect(rateRuleOf(svc, inst).count).toBe(5);
    takeSnapshot(data, XEND_SERVICE, XEND_INSTANCE, "running");
    expect(rateRuleOf(svc, inst)).toEqual({ count: 3, periodMs: 600_000 });
  });

  it("formats svc.startd's log lines: [ %b %e %T message ]", () => {
    expect(smfLogLine("Enabled.", new Date(Date.UTC(2026, 8, 4, 10, 12, 1)))).toBe("[ Sep  4 10:12:01 Enabled. ]\n");
    expect(smfLogLine("Disabled.", new Date(Date.UTC(2026, 11, 24, 0, 0, 9)))).toBe("[ Dec 24 00:00:09 Disabled. ]\n");
  });
});
