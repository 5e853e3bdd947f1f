/**
 * Dependencies (src/smf/dependencies.ts) and how the restarter's state machine obeys them
 * (ctx.depsSatisfied): svc:/system/xvm/domains waits for xend, stops before it, and a restart its
 * dependency caused does not count against it.
 */
import { describe, expect, it } from "vitest";
import { seedRepository } from "../../src/smf/manifest.ts";
import { addDomainsService, upgradeDomainsService } from "../../src/smf/domains-service.ts";
import {
  dependenciesSatisfied, dependencyInstances, dependentInstances, entityInstances, unsatisfied, type StateOf,
} from "../../src/smf/dependencies.ts";
import { DOMAINS_SERVICE, RESTARTER_SERVICE, XEND_FMRI, XEND_SERVICE, setProp } from "../../src/smf/model.ts";
import { newMachine, step, type Event } from "../../src/smf/restarter/machine.ts";
import { signalNumber } from "../../src/smf/restarter/proc.ts";
import { DEFAULT_RATE_RULE, type RateRule } from "../../src/smf/restarter/rate.ts";

const DOMAINS = "svc:/system/xvm/domains:default";
const states = (map: Record<string, [string, string?]>): StateOf => (f) => (map[f] ? { state: map[f]![0], nextState: map[f]![1] ?? "none" } : undefined);

describe("dependency groups", () => {
  it("the seeded domains service depends on xend: -d and -D, both ways", () => {
    const d = seedRepository();
    expect(dependencyInstances(d, DOMAINS_SERVICE, "default")).toEqual([XEND_FMRI]);
    expect(dependentInstances(d, XEND_SERVICE, "default")).toEqual([DOMAINS]);
    expect(dependencyInstances(d, XEND_SERVICE, "default")).toEqual([]);
    expect(dependentInstances(d, DOMAINS_SERVICE, "default")).toEqual([]);
    expect(entityInstances(d, "svc:/system/xvm/xend")).toEqual([XEND_FMRI]);
    expect(entityInstances(d, "file://localhost/etc/motd")).toEqual([]);
    expect(entityInstances(d, "svc:/nope:default")).toEqual([]);
  });

  it("require_all is satisfied only by an instance up with nothing pending; a dependency about to stop is not", () => {
    const d = seedRepository();
    const ok = (s: StateOf) => dependenciesSatisfied(d, DOMAINS_SERVICE, "default", s);
    expect(ok(states({ [XEND_FMRI]: ["online"] }))).toBe(true);
    expect(ok(states({ [XEND_FMRI]: ["degraded"] }))).toBe(true);
    expect(ok(states({ [XEND_FMRI]: ["online", "disabled"] }))).toBe(false);
    expect(ok(states({ [XEND_FMRI]: ["offline", "online"] }))).toBe(false);
    expect(ok(states({ [XEND_FMRI]: ["disabled"] }))).toBe(false);
    expect(unsatisfied(d, DOMAINS_SERVICE, "default", states({ [XEND_FMRI]: ["maintenance"] })).map((u) => [u.dep.name, u.blocking])).toEqual([["xend", [XEND_FMRI]]]);
  });

  it("require_any, optional_all and exclude_all", () => {
    const d = seedRepository();
    const pgs = d.services[DOMAINS_SERVICE]!.instances.default!.snapshots.running!;
    const ok = (grouping: string, s: StateOf) => {
      setProp(pgs, "xend", "grouping", "astring", [grouping], "dependency");
      return dependenciesSatisfied(d, DOMAINS_SERVICE, "default", s);
    };
    expect(ok("optional_all", states({ [XEND_FMRI]: ["disabled"] }))).toBe(true);
    expect(ok("optional_all", states({ [XEND_FMRI]: ["offline", "online"] }))).toBe(false);
    expect(ok("exclude_all", states({ [XEND_FMRI]: ["disabled"] }))).toBe(true);
    expect(ok("exclude_all", states({ [XEND_FMRI]: ["online"] }))).toBe(false);
    expect(ok("require_any", states({ [XEND_FMRI]: ["online"] }))).toBe(true);
  });

  it("an older repository gains the service once; one an administrator deleted does not get it back", () => {
    const d = seedRepository();
    delete d.services[DOMAINS_SERVICE];
    delete d.services[RESTARTER_SERVICE]!.pgs.manifestfiles;
    expect(upgradeDomainsService(d, 0)).toBe(true);
    expect(d.services[DOMAINS_SERVICE]!.instances.default!.snapshots.running).toBeDefined();
    expect(upgradeDomainsService(d, 0)).toBe(false);
    delete d.services[DOMAINS_SERVICE];
    expect(upgradeDomainsService(d, 0)).toBe(false);
    addDomainsService(d, 0);
    expect(dependentInstances(d, XEND_SERVICE, "default")).toEqual([DOMAINS]);
  });
});

describe("the state machine with dependencies", () => {
  const methods = { start: "xvm xend domains start", stop: "xvm xend domains stop", refresh: ":true" };
  function driver(rule: RateRule = DEFAULT_RATE_RULE) {
    let now = 1_000_000;
    let deps = false;
    const m = newMachine(now, { state: "uninitialized" });
    const send = (ev: Event, dt = 1_000) => {
      now += dt;
      return step(m, ev, { now, rule, methods, signalNumber, depsSatisfied: deps });
    };
    const logs = (fx: ReturnType<typeof send>) => fx.filter((f) => f.type === "log").map((f) => (f as { message: string }).message);
    return { m, send, logs, setDeps: (v: boolean) => (deps = v) };
  }

  it("waits offline until the dependency is up, then starts; stops (quoted exec) when it goes, and starts again", () => {
    const d = driver();
    expect(d.logs(d.send({ type: "enabled", value: true }))).toEqual(["Enabled."]);
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["offline", "none", "none"]);
    d.setDeps(true);
    expect(d.logs(d.send({ type: "dependencies" }))).toEqual(['Executing start method ("xvm xend domains start").']);
    d.send({ type: "ready", status: "online", reasons: [] });
    expect(d.m.state).toBe("online");
    d.setDeps(false);
    const fx = d.send({ type: "dependencies" });
    expect(d.logs(fx)).toEqual(["Stopping because dependency activity requires stop.", 'Executing stop method ("xvm xend domains stop").']);
    expect([d.m.state, d.m.nextState]).toEqual(["online", "offline"]);
    d.send({ type: "exited", code: 0, signal: null });
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["offline", "none", "none"]);
    d.setDeps(true);
    d.send({ type: "dependencies" });
    expect([d.m.state, d.m.nextState, d.m.proc]).toEqual(["offline", "online", "starting"]);
  });

  it("restarts its dependency caused are not counted by the rate rule; a start failing as the dependency goes is no fault", () => {
    const d = driver({ count: 2, periodMs: 3_600_000 });
    d.send({ type: "enabled", value: true });
    for (let i = 0; i < 5; i++) {
      d.setDeps(true);
      d.send({ type: "dependencies" });
      d.send({ type: "ready", status: "online", reasons: [] });
      expect(d.m.state).toBe("online");
      d.setDeps(false);
      d.send({ type: "dependencies" });
      d.send({ type: "exited", code: 0, signal: null });
    }
    d.setDeps(true);
    d.send({ type: "dependencies" });
    d.setDeps(false);
    expect(d.logs(d.send({ type: "exited", code: 1, signal: null }))).toEqual(['Method "start" failed with exit status 1.']);
    expect([d.m.state, d.m.faults]).toEqual(["offline", 0]);
  });
});
