/**
 * Faults, against the compiled binary on temporary roots: a daemon killed again and again (the
 * restart rate rule, then maintenance and `svcadm clear`), the rule's window changed through
 * startd properties, the restarter killed under a running daemon, racing `svcadm enable`s, an
 * unwritable log directory, and administrative maintenance and degradation.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Paths } from "../../src/paths.ts";
import { XEND_INSTANCE, XEND_SERVICE } from "../../src/smf/model.ts";
import { Repository } from "../../src/smf/repository.ts";
import { readStatus } from "../../src/smf/restarter/record.ts";
import { cleanupRoot, killPids, pidAlive, processesOfRoot, run, runAsync, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";

const XEND = "svc:/system/xvm/xend:default";
const roots: string[] = [];

function newRoot(): string {
  const r = tempRoot("xvm-restarter-faults-");
  roots.push(r);
  return prepareRoot(r, { relocation: false });
}

function status(root: string) {
  return readStatus(new Repository(new Paths(root)).read().services[XEND_SERVICE]!.instances[XEND_INSTANCE]!);
}
const pidOf = (root: string, file: string) => {
  const p = join(root, file);
  return existsSync(p) ? Number.parseInt(readFileSync(p, "utf8"), 10) : undefined;
};
const daemonPid = (root: string) => pidOf(root, "var/run/xend/xend.pid");
const restarterPid = (root: string) => pidOf(root, "var/run/svc/restarter.pid");
const svcLog = (root: string) => readFileSync(join(root, "var/svc/log/system-xvm-xend:default.log"), "utf8");
const count = (text: string, line: string) => text.split("\n").filter((l) => l.endsWith(` ${line} ]`)).length;

/** Kills the daemon; resolves with what the restarter made of it: online with a new pid, or maintenance. */
async function killDaemon(root: string): Promise<{ state: string; pid?: number; old: number }> {
  const old = daemonPid(root)!;
  await killPids([old]);
  const st = await waitFor(() => {
    const s = status(root);
    if (s.state === "maintenance") return s;
    if (s.state === "online" && s.nextState === "none" && s.startPid !== undefined && s.startPid !== old) return s;
    return undefined;
  }, `xend back online or in maintenance after kill -9 of ${old}`);
  return { state: st.state, pid: st.startPid, old };
}

afterAll(async () => {
  for (const r of roots) await cleanupRoot(r);
});

/** svcs output without the companion service's line. */
const withoutDomains = (text: string) => text.split("\n").filter((l) => !l.endsWith(" svc:/system/xvm/domains:default")).join("\n");

describe("a daemon that keeps dying", () => {
  it("is restarted each time until the rate rule trips (5 starts in 10 minutes), then maintenance until clear", async () => {
    const root = newRoot();
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    const outcomes: Array<{ state: string; pid?: number; old: number }> = [];
    for (let i = 0; i < 10; i++) {
      const o = await killDaemon(root);
      outcomes.push(o);
      if (o.state === "maintenance") break;
      expect(pidAlive(o.pid!)).toBe(true);
      expect(run(["svcs", "-H", "xend"], { root }).stdout).toMatch(/^online {9}/);
    }
    expect(outcomes.map((o) => o.state)).toEqual(["online", "online", "online", "maintenance"]);
    expect(new Set(outcomes.map((o) => o.old)).size).toBe(4);

    const log = svcLog(root);
    expect(count(log, "Stopping because process received fatal signal from outside the service.")).toBe(4);
    expect(count(log, 'Executing start method ("/usr/lib/xend").')).toBe(4);
    expect(log.trimEnd().endsWith("Restarting too quickly, changing state to maintenance. ]")).toBe(true);
    expect(processesOfRoot(root).filter((p) => p.args.includes("xend"))).toEqual([]);

    await waitFor(() => run(["svcs", "-H", "-o", "state,nstate", "domains"], { root }).stdout === "offline        -\n", "domains settled offline");
    const x = run(["svcs", "-x"], { root });
    expect(x.stdout).toMatch(/^svc:\/system\/xvm\/xend:default \(xVM control daemon\)\n State: maintenance since .+\nReason: Restarting too quickly\.\n {3}See: http:\/\/sun\.com\/msg\/SMF-8000-L5\n {3}See: xend\(1M\)\n/);
    expect(x.stdout.endsWith(`   See: ${join(root, "var/svc/log/system-xvm-xend:default.log")}\nImpact: 1 dependent service is not running.  (Use -v for list.)\n`)).toBe(true);
    expect(run(["svcadm", "enable", "-s", "xend"], { root })).toEqual({
      code: 3, stdout: "", stderr: `svcadm: Instance "${XEND}" is in maintenance state.\n`,
    });

    expect(run(["svcadm", "clear", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    expect(run(["svcs", "-H", "xend"], { root }).stdout).toMatch(/^online {9}/);
    expect(svcLog(root)).toMatch(/Leaving maintenance because clear requested\. \]\n\[ .{15} Enabled\. \]\n/);
    // svc:/system/xvm/domains follows xend online (its start may still be running as enable -s returns).
    await waitFor(() => run(["svcs", "-H", "-o", "state", "domains"], { root }).stdout === "online\n", "domains online");
    expect(run(["svcs", "-x"], { root }).stdout).toBe("");
  });

  it("keeps being restarted when startd/critical_failure_period makes the window small", async () => {
    const root = newRoot();
    for (const cmd of [
      ["addpg", "startd", "framework"],
      ["setprop", "startd/critical_failure_count", "=", "count:", "3"],
      ["setprop", "startd/critical_failure_period", "=", "count:", "0"],
    ]) {
      expect(run(["svccfg", "-s", XEND, ...cmd], { root })).toMatchObject({ code: 0, stderr: "" });
    }
    expect(run(["svcadm", "refresh", "xend"], { root }).code).toBe(0);
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    const states: string[] = [];
    for (let i = 0; i < 6; i++) states.push((await killDaemon(root)).state);
    expect(states).toEqual(Array(6).fill("online"));
    expect(svcLog(root)).not.toContain("Restarting too quickly");
  });
});

describe("the restarter", () => {
  it("killed with -9 leaves the daemon running; the next svcadm adopts and supervises it", async () => {
    const root = newRoot();
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    const daemon = daemonPid(root)!;
    const first = restarterPid(root)!;
    await killPids([first]);
    expect(pidAlive(daemon)).toBe(true);
    // (svc:/system/xvm/domains, in whatever step of its start the restarter was killed, aside.)
    expect(withoutDomains(run(["svcs", "-H", "-a"], { root }).stdout)).toMatch(/^online .* svc:\/system\/xvm\/xend:default\noffline .* svc:\/system\/svc\/restarter:default\n$/);

    expect(run(["svcadm", "enable", "-s", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    const second = restarterPid(root)!;
    expect(second).not.toBe(first);
    expect(status(root).startPid).toBe(daemon);
    const lines = run(["svcs", "-H", "-a"], { root }).stdout.trimEnd().split("\n").map((l) => l.replace(/ .* /, " ")).sort();
    expect(lines).toEqual(["online svc:/system/svc/restarter:default", "online svc:/system/xvm/domains:default", "online svc:/system/xvm/xend:default"]);

    // The adopted daemon is not the new restarter's child: it is watched by its pid.
    const o = await killDaemon(root);
    expect(o.state).toBe("online");
    expect(svcLog(root)).toContain(" Stopping because all processes in service exited. ]\n");
    expect(processesOfRoot(root).filter((p) => p.args.includes("__restarter")).map((p) => p.pid)).toEqual([second]);
  });

  it("is started exactly once when three svcadm enable race, and runs exactly one daemon", async () => {
    const root = newRoot();
    const results = await Promise.all([0, 1, 2].map(() => runAsync(["svcadm", "enable", "-s", "xend"], { root })));
    expect(results).toEqual(Array(3).fill({ code: 0, stdout: "", stderr: "" }));
    const procs = processesOfRoot(root);
    expect(procs.filter((p) => p.args.includes("__restarter")).map((p) => p.pid)).toEqual([restarterPid(root)]);
    expect(procs.filter((p) => p.args.includes("xend")).map((p) => p.pid)).toEqual([daemonPid(root)]);
    expect(count(svcLog(root), 'Executing start method ("/usr/lib/xend").')).toBe(1);
  });
});

describe("a daemon that cannot start", () => {
  it("with its log directory unwritable exits 96: maintenance at once, explained", () => {
    const root = newRoot();
    mkdirSync(join(root, "var/log"), { recursive: true });
    writeFileSync(join(root, "var/log/xen"), "not a directory\n");
    expect(run(["svcadm", "enable", "-s", "xend"], { root })).toEqual({
      code: 3, stdout: "", stderr: `svcadm: Instance "${XEND}" is in maintenance state.\n`,
    });
    const log = svcLog(root);
    expect(count(log, 'Executing start method ("/usr/lib/xend").')).toBe(1);
    expect(log).toContain(" Method \"start\" failed with exit status 96. ]\n");
    // The daemon's own complaint is in the service log too (its stderr is the log file).
    expect(log).toMatch(/\nxend: .*var\/log\/xen.*\n/);
    const st = status(root);
    expect([st.state, st.aux, st.waitstatus]).toEqual(["maintenance", "method_failed", 96 << 8]);
    expect(run(["svcs", "-x", "xend"], { root }).stdout).toContain(
      "Reason: Start method exited with $SMF_EXIT_ERR_CONFIG.\n   See: http://sun.com/msg/SMF-8000-KS\n",
    );
  });
});

describe("administrative maintenance and degradation", () => {
  it("mark maintenance stops the daemon; clear starts it; mark degraded and clear restore online", async () => {
    const root = newRoot();
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    const daemon = daemonPid(root)!;
    expect(run(["svcadm", "-v", "mark", "-I", "maintenance", "xend"], { root })).toEqual({
      code: 0, stdout: `Action maint_on_immediate set for ${XEND}.\n`, stderr: "",
    });
    await waitFor(() => status(root).state === "maintenance", "maintenance");
    await waitFor(() => !pidAlive(daemon), "the daemon killed");
    expect(run(["svcs", "-x"], { root }).stdout).toContain("Reason: Maintenance requested by an administrator.\n   See: http://sun.com/msg/SMF-8000-63\n");
    expect(run(["svcadm", "mark", "degraded", "xend"], { root })).toEqual({
      code: 1, stdout: "", stderr: `svcadm: Instance "${XEND}" is not online.\n`,
    });
    expect(run(["svcadm", "-v", "clear", "xend"], { root })).toEqual({ code: 0, stdout: `Action maint_off set for ${XEND}.\n`, stderr: "" });
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);

    expect(run(["svcadm", "mark", "degraded", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run(["svcs", "-H", "xend"], { root }).stdout).toMatch(/^degraded {7}/);
    expect(run(["svcs", "-x", "xend"], { root }).stdout).toContain("Reason: Degraded by an administrator.\n   See: http://sun.com/msg/SMF-8000-DX\n");
    expect(run(["svcadm", "-v", "clear", "xend"], { root })).toEqual({ code: 0, stdout: `Action restore set for ${XEND}.\n`, stderr: "" });
    expect(run(["svcs", "-H", "xend"], { root }).stdout).toMatch(/^online {9}/);
    expect(daemonPid(root)).not.toBe(daemon);
    expect(pidAlive(daemonPid(root)!)).toBe(true);
  });
});
