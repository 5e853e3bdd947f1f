/**
 * The service's life through svcadm, against the compiled binary on a temporary root: enable -s,
 * restart, refresh (with a new property value taking effect), disable -s, temporary enable and
 * what a fresh boot does to it. Asserts svcs output, service-log lines and pids.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Paths } from "../../src/paths.ts";
import { unixJson } from "../../src/runtime/http-client.ts";
import { DOMAINS_SERVICE, XEND_INSTANCE, XEND_SERVICE } from "../../src/smf/model.ts";
import { Repository } from "../../src/smf/repository.ts";
import { readStatus } from "../../src/smf/restarter/record.ts";
import { cleanupRoot, killPids, pidAlive, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";

const XEND = "svc:/system/xvm/xend:default";
let root = "";

function status() {
  const inst = new Repository(new Paths(root)).read().services[XEND_SERVICE]!.instances[XEND_INSTANCE]!;
  return readStatus(inst);
}
/**
 * Online, with no transition pending, under a daemon other than `old` — judged on ONE read of the
 * repository. During a restart the instance reads online/offline (old pid) while stopping, then
 * offline/online (new pid) while starting: a state taken from one read and a pid from a later one
 * can pair the two before the new daemon has answered.
 */
function onlineAgain(old: number) {
  const s = status();
  return s.state === "online" && s.nextState === "none" && s.startPid !== undefined && s.startPid !== old;
}
const svcLog = () => readFileSync(join(root, "var/svc/log/system-xvm-xend:default.log"), "utf8");
const xendLog = () => readFileSync(join(root, "var/log/xen/xend.log"), "utf8");
const pidOf = (file: string) => {
  const p = join(root, file);
  return existsSync(p) ? Number.parseInt(readFileSync(p, "utf8"), 10) : undefined;
};
const daemonPid = () => pidOf("var/run/xend/xend.pid");
const restarterPid = () => pidOf("var/run/svc/restarter.pid");
const x = (args: string[]) => run(args, { root });
/** Restarter lines of the log, without their timestamps. */
const logMessages = () => svcLog().split("\n").filter((l) => l.startsWith("[ ")).map((l) => l.replace(/^\[ \w{3} [ \d]\d \d\d:\d\d:\d\d (.*) \]$/, "$1"));

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-restarter-life-"), { relocation: false });
});

afterAll(async () => {
  await cleanupRoot(root);
});

describe("svcadm enable / restart / refresh / disable", () => {
  let firstPid = 0;

  it("enable -s brings xend online; svcs shows it with its pid; the log tells the story", async () => {
    const r = x(["svcadm", "enable", "-s", "xend"]);
    expect(r).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const st = status();
    expect([st.state, st.nextState, st.aux]).toEqual(["online", "none", "none"]);
    firstPid = daemonPid()!;
    expect(pidAlive(firstPid)).toBe(true);
    expect(st.startPid).toBe(firstPid);
    expect(pidAlive(restarterPid()!)).toBe(true);

    // The companion service (enabled from the start) comes online once xend is.
    await waitFor(() => {
      const d = new Repository(new Paths(root)).read().services[DOMAINS_SERVICE]!.instances.default!;
      return readStatus(d).state === "online" && readStatus(d).nextState === "none";
    }, "svc:/system/xvm/domains online");
    const svcs = x(["svcs"]);
    expect(svcs.code).toBe(0);
    expect(svcs.stdout).toMatch(/^STATE {10}STIME {4}FMRI\nonline {9}[ \d]\d:\d\d:\d\d svc:\/system\/svc\/restarter:default\nonline {9}[ \d]\d:\d\d:\d\d svc:\/system\/xvm\/xend:default\nonline {9}[ \d]\d:\d\d:\d\d svc:\/system\/xvm\/domains:default\n$/);
    const p = x(["svcs", "-H", "-p", "xend"]);
    expect(p.stdout).toMatch(new RegExp(`^online {9}[ \\d]\\d:\\d\\d:\\d\\d ${XEND}\\n {15}[ \\d]\\d:\\d\\d:\\d\\d {3} *${firstPid} \\S+\\n$`));

    expect(logMessages()).toEqual(["Enabled.", 'Executing start method ("/usr/lib/xend").', 'Method "start" exited with status 0.']);
    const l = x(["svcs", "-l", "xend"]).stdout;
    expect(l).toContain("enabled      true\nstate        online\nnext_state   none\n");
    expect(l).toContain(`logfile      ${join(root, "var/svc/log/system-xvm-xend:default.log")}\nrestarter    svc:/system/svc/restarter:default\ncontract_id  `);
  });

  it("enable -s of an online instance returns at once; clear of an online instance is refused", () => {
    expect(x(["svcadm", "enable", "-s", "xend"])).toMatchObject({ code: 0, stderr: "" });
    expect(x(["svcadm", "clear", "xend"])).toEqual({
      code: 1, stdout: "", stderr: `svcadm: Instance "${XEND}" is not in a maintenance or degraded state.\n`,
    });
    expect(daemonPid()).toBe(firstPid);
  });

  it("restart stops the daemon and starts a new one", async () => {
    expect(x(["svcadm", "-v", "restart", "xend"])).toEqual({ code: 0, stdout: `Action restart set for ${XEND}.\n`, stderr: "" });
    await waitFor(() => onlineAgain(firstPid), "xend online with a new pid");
    const pid = daemonPid()!;
    expect(pid).not.toBe(firstPid);
    expect(pidAlive(firstPid)).toBe(false);
    expect(logMessages().slice(3)).toEqual([
      "Stopping because service restarting.",
      "Executing stop method (:kill).",
      'Executing start method ("/usr/lib/xend").',
      'Method "start" exited with status 0.',
    ]);
    firstPid = pid;
  });

  it("refresh rereads the configuration: SIGHUP, same pid, state unchanged, new values in force", async () => {
    const paths = new Paths(root);
    const before = await unixJson<Record<string, unknown>>(paths.controlSocket, "GET", "/config?property=dom0-cpus");
    expect(before).toEqual({ "dom0-cpus": 0 });
    expect(x(["svccfg", "-s", XEND, "setprop", "config/dom0-cpus", "=", "1"])).toMatchObject({ code: 0 });
    const since = status().stateTime;
    expect(x(["svcadm", "refresh", "xend"])).toEqual({ code: 0, stdout: "", stderr: "" });
    await waitFor(() => /refresh done: 1 change\(s\)/.test(xendLog()), "xend to apply the refresh");
    expect(xendLog()).toContain("received SIGHUP");
    expect(await unixJson(paths.controlSocket, "GET", "/config?property=dom0-cpus")).toEqual({ "dom0-cpus": 1 });
    expect(daemonPid()).toBe(firstPid);
    expect([status().state, status().stateTime]).toEqual(["online", since]);
    expect(logMessages().slice(-2)).toEqual(["Rereading configuration.", "Executing refresh method (:kill -HUP)."]);
  });

  it("a refresh the daemon cannot apply leaves it degraded, with the daemon's reason; a restart with good values recovers", async () => {
    expect(x(["svccfg", "-s", XEND, "setprop", "config/logfile", "=", "/var/log/xen"])).toMatchObject({ code: 0 });
    expect(x(["svcadm", "refresh", "xend"]).code).toBe(0);
    await waitFor(() => status().state === "degraded", "xend degraded");
    expect(status().reason).toEqual([expect.stringMatching(/^config\/logfile: cannot write .*var\/log\/xen/)]);
    expect(x(["svcs", "-H", "xend"]).stdout).toMatch(/^degraded {7}/);
    expect(x(["svcs", "-x", "xend"]).stdout).toMatch(/\nReason: Degraded by the service: config\/logfile: cannot write .*\n {3}See: xend\(1M\)\n/);
    // Degraded is running: not listed by svcs -x without operands, as SMF does.
    expect(x(["svcs", "-x"]).stdout).toBe("");

    expect(x(["svccfg", "-s", XEND, "setprop", "config/logfile", "=", "/var/log/xen/xend.log"])).toMatchObject({ code: 0 });
    expect(x(["svcadm", "refresh", "xend"]).code).toBe(0);
    expect(x(["svcadm", "restart", "xend"]).code).toBe(0);
    await waitFor(() => onlineAgain(firstPid), "xend online again with a new pid");
    expect(status().reason).toEqual([]);
    firstPid = daemonPid()!;
  });

  it("disable -s stops the daemon; svcs -a shows it disabled, svcs -x explains", async () => {
    expect(x(["svcadm", "disable", "-s", "xend"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(status().state).toBe("disabled");
    await waitFor(() => !pidAlive(firstPid), "the daemon to be gone");
    expect(logMessages().slice(-2)).toEqual(["Stopping because service disabled.", "Executing stop method (:kill)."]);
    expect(x(["svcs", "-H", "-a"]).stdout).toMatch(/^disabled {7}[ \d]\d:\d\d:\d\d svc:\/system\/xvm\/xend:default\nonline /);
    expect(x(["svcs", "-H"]).stdout).not.toContain("xend");
    const why = x(["svcs", "-x", "xend"]).stdout;
    expect(why).toMatch(/^svc:\/system\/xvm\/xend:default \(xVM control daemon\)\n State: disabled since \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReason: Disabled by an administrator\.\n {3}See: http:\/\/sun\.com\/msg\/SMF-8000-05\n {3}See: xend\(1M\)\n/);
    // svc:/system/xvm/domains (enabled) waits for it.
    expect(why.endsWith("Impact: 1 dependent service is not running.  (Use -v for list.)\n")).toBe(true);
  });
});

describe("temporary enable (-t) and the fresh boot", () => {
  it("enable -t is temporary; a restarter replaced while the daemon runs keeps it", async () => {
    expect(x(["svcadm", "-v", "enable", "-st", "xend"])).toEqual({ code: 0, stdout: `${XEND} temporarily enabled.\n`, stderr: "" });
    expect(x(["svcs", "-l", "xend"]).stdout).toContain("enabled      true (temporary)\n");
    const daemon = daemonPid()!;
    const old = restarterPid()!;
    await killPids([old]);
    // The daemon outlives its restarter; svcs still reads the state, and shows the restarter gone.
    expect(pidAlive(daemon)).toBe(true);
    expect(x(["svcs", "-H", "-a"]).stdout).toMatch(/^online .* svc:\/system\/xvm\/xend:default\nonline .* svc:\/system\/xvm\/domains:default\noffline .* svc:\/system\/svc\/restarter:default\n$/);
    // The next svcadm starts a restarter, which adopts the daemon: not a fresh boot.
    expect(x(["svcadm", "enable", "-st", "xend"]).code).toBe(0);
    expect(restarterPid()).not.toBe(old);
    expect(daemonPid()).toBe(daemon);
    expect(x(["svcs", "-l", "xend"]).stdout).toContain("enabled      true (temporary)\n");
    expect(readFileSync(join(root, "var/svc/log/svc.startd.log"), "utf8")).toContain(`restarter started (adopting xend pid ${daemon})`);
  });

  it("after a fresh boot (no restarter, no daemon) the temporary enable is gone", async () => {
    await killPids([restarterPid()!, daemonPid()!]);
    const r = x(["svcadm", "refresh", "xend"]);
    expect(r.code).toBe(0);
    await waitFor(() => status().state === "disabled", "xend back to its persistent state");
    expect(x(["svcs", "-l", "xend"]).stdout).toContain("enabled      false\nstate        disabled\n");
    expect(daemonPid() === undefined || !pidAlive(daemonPid()!)).toBe(true);
    expect(readFileSync(join(root, "var/svc/log/svc.startd.log"), "utf8")).toContain("restarter started (fresh boot)");
  });
});
