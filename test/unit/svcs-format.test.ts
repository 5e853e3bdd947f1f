import { beforeAll, describe, expect, it } from "vitest";
import { seedRepository, timeValue } from "../../src/smf/manifest.ts";
import { DOMAINS_SERVICE, RESTARTER_SERVICE, XEND_INSTANCE, XEND_SERVICE, setProp, type RepoData } from "../../src/smf/model.ts";
import { newMachine, type Machine } from "../../src/smf/restarter/machine.ts";
import { setEnabled, writeStatus } from "../../src/smf/restarter/record.ts";
import { field, headerLine } from "../../src/smf/restarter/view/columns.ts";
import { parseSvcs, type SvcsRequest } from "../../src/smf/restarter/view/svcs-args.ts";
import { runSvcs } from "../../src/smf/restarter/view/svcs.ts";
import { ctimeText, stimeText } from "../../src/smf/restarter/view/time.ts";

beforeAll(() => {
  // Local time is what svcs prints; pin it.
  process.env.TZ = "UTC";
});

const NOW = Date.UTC(2026, 8, 4, 10, 12, 1); // Fri Sep  4 10:12:01 2026
const LOG = "/r/var/svc/log/system-xvm-xend:default.log";
/** A daemon pid the tests treat as gone. */
const DEAD_DAEMON = 666;

/**
 * A repository with xend in `state` since `at`, and a live restarter. Without the companion
 * service svc:/system/xvm/domains (as after `svccfg delete domains`), so that these listings are
 * about xend and the restarter; its own tests add it back.
 */
function repo(state: Partial<Machine>, at = NOW - 3_600_000, extra: { pid?: number; contract?: number } = {}, withDomains = false): RepoData {
  const d = seedRepository(NOW - 86_400_000 * 2);
  if (!withDomains) delete d.services[DOMAINS_SERVICE];
  const x = d.services[XEND_SERVICE]!.instances[XEND_INSTANCE]!;
  setEnabled(x, true, false);
  writeStatus(x, newMachine(at, { state: "online", ...state }), { logfile: LOG, ...extra });
  const r = d.services[RESTARTER_SERVICE]!.instances.default!;
  writeStatus(r, newMachine(NOW - 7_200_000, { state: "online" }), { pid: 4242, logfile: "/r/var/svc/log/svc.startd.log" });
  return d;
}

function svcs(data: RepoData, args: string[]) {
  const req = parseSvcs(args);
  if ("exit" in req) throw new Error(`usage: ${req.stderr}`);
  return runSvcs(data, req as SvcsRequest, NOW, { restarterAlive: (pid) => pid === 4242, daemonAlive: (pid) => pid !== DEAD_DAEMON });
}

describe("STIME and state_time formats", () => {
  it("prints the time within 24 hours (hour padded with a space), the date within 360 days, else the year", () => {
    expect(stimeText(NOW - 3_600_000, NOW)).toBe(" 9:12:01");
    expect(stimeText(Date.UTC(2026, 8, 4, 0, 0, 5), NOW)).toBe(" 0:00:05");
    expect(stimeText(NOW - 86_399_000, NOW)).toBe("10:12:02");
    expect(stimeText(NOW - 86_400_000, NOW)).toBe("Sep_03  ");
    expect(stimeText(Date.UTC(2026, 0, 2), NOW)).toBe("Jan_02  ");
    expect(stimeText(NOW - 359 * 86_400_000, NOW)).toBe("Sep_10  ");
    expect(stimeText(NOW - 360 * 86_400_000, NOW)).toBe("2025    ");
    // A clock set back (a future time) still prints as a time.
    expect(stimeText(NOW + 5_000, NOW)).toBe("10:12:06");
  });

  it("state_time is the C locale's %c with a space-padded day", () => {
    expect(ctimeText(NOW)).toBe("Fri Sep  4 10:12:01 2026");
    expect(ctimeText(Date.UTC(2005, 5, 15, 16, 21, 2))).toBe("Wed Jun 15 16:21:02 2005");
  });
});

describe("svcs listing", () => {
  it("default: enabled instances, header, state padded to 15 and stime to 9, sorted by state", () => {
    const out = svcs(repo({}), []);
    expect(out).toEqual({
      exit: 0,
      stderr: "",
      stdout: [
        "STATE          STIME    FMRI",
        "online          8:12:01 svc:/system/svc/restarter:default",
        "online          9:12:01 svc:/system/xvm/xend:default",
        "",
      ].join("\n"),
    });
  });

  it("omits disabled instances unless -a, and -H drops the header", () => {
    const d = repo({ state: "disabled" }, NOW - 3 * 86_400_000);
    setEnabled(d.services[XEND_SERVICE]!.instances.default!, false, false);
    expect(svcs(d, ["-H"]).stdout).toBe("online          8:12:01 svc:/system/svc/restarter:default\n");
    expect(svcs(d, ["-a"]).stdout).toBe([
      "STATE          STIME    FMRI",
      "disabled       Sep_01   svc:/system/xvm/xend:default",
      "online          8:12:01 svc:/system/svc/restarter:default",
      "",
    ].join("\n"));
  });

  it("a temporarily enabled instance is listed; a transition adds '*' unless a next-state column shows", () => {
    const d = repo({ state: "offline", nextState: "online" });
    const x = d.services[XEND_SERVICE]!.instances.default!;
    setEnabled(x, false, false);
    setEnabled(x, true, true);
    expect(svcs(d, ["-H", "xend"]).stdout).toBe("offline*        9:12:01 svc:/system/xvm/xend:default\n");
    expect(svcs(d, ["-H", "-o", "state,nstate,fmri", "xend"]).stdout).toBe(
      "offline        online        svc:/system/xvm/xend:default\n",
    );
    expect(svcs(d, ["-H", "-o", "s,sta,fmri", "xend"]).stdout).toBe("0* OFF* svc:/system/xvm/xend:default\n");
    expect(svcs(d, ["-H", "-o", "s,sta,sn,n,nsta", "xend"]).stdout).toBe("0  OFF  01 1 ON\n");
  });

  it("-v adds NSTATE and CTID (right-aligned, '-' when none)", () => {
    const out = svcs(repo({}, NOW - 3_600_000, { pid: 99999, contract: 103 }), ["-v"]).stdout;
    expect(out).toBe([
      "STATE          NSTATE        STIME    CTID   FMRI",
      "online         -              8:12:01      - svc:/system/svc/restarter:default",
      "online         -              9:12:01    103 svc:/system/xvm/xend:default",
      "",
    ].join("\n"));
  });

  it("-o takes column names in any case; each field keeps svcs.c's width and truncation", () => {
    const d = repo({});
    expect(svcs(d, ["-o", "svc,inst,scope,zone,desc", "xend"]).stdout).toBe([
      `SVC                  INST                 SCOPE                ZONE             DESC`,
      `system/xvm/xend      default              localhost            global           xVM control daemon`,
      "",
    ].join("\n"));
    // A long instance name is cut at 21 characters; a long FMRI pushes the next column along.
    expect(field("a-very-long-instance-name", 20, 22)).toBe("a-very-long-instance-");
    expect(headerLine([0, 4, 6])).toBe("CTID   N NSTATE");
  });

  it("-s/-S sort by named columns; no -s with -o keeps the walk order", () => {
    const d = repo({}, NOW - 60_000);
    expect(svcs(d, ["-H", "-o", "fmri", "-S", "stime"]).stdout).toBe(
      "svc:/system/xvm/xend:default\nsvc:/system/svc/restarter:default\n",
    );
    expect(svcs(d, ["-H", "-o", "fmri", "-s", "STIME"]).stdout).toBe(
      "svc:/system/svc/restarter:default\nsvc:/system/xvm/xend:default\n",
    );
    expect(svcs(d, ["-H", "-o", "fmri"]).stdout).toBe("svc:/system/xvm/xend:default\nsvc:/system/svc/restarter:default\n");
  });

  it("an unknown column is fatal (exit 1); a pattern matching nothing is reported and the rest still listed", () => {
    expect(svcs(repo({}), ["-o", "state,bogus"])).toEqual({ exit: 1, stdout: "", stderr: 'svcs: Unknown column "bogus".\n' });
    const out = svcs(repo({}), ["-H", "nosuch", "xend"]);
    expect(out).toEqual({
      exit: 1,
      stderr: "svcs: Pattern 'nosuch' doesn't match any instances\n",
      stdout: "online          9:12:01 svc:/system/xvm/xend:default\n",
    });
  });

  it("a master restarter whose process is gone shows offline", () => {
    const d = repo({});
    const r = d.services[RESTARTER_SERVICE]!.instances.default!;
    writeStatus(r, newMachine(NOW - 7_200_000, { state: "online" }), { pid: 777 });
    expect(svcs(d, ["-H", "restarter"]).stdout).toBe("offline         8:12:01 svc:/system/svc/restarter:default\n");
  });

  it("an instance recorded online whose daemon is gone shows offline, never online, and -x says why", () => {
    const d = repo({}, NOW - 3_600_000, { pid: DEAD_DAEMON, contract: 103 });
    expect(svcs(d, ["-H", "xend"]).stdout).toBe("offline         9:12:01 svc:/system/xvm/xend:default\n");
    expect(svcs(d, ["-x", "xend"]).stdout).toContain("Reason: The service's process (pid 666) exited; its restarter is restarting it.\n");
    const r = d.services[RESTARTER_SERVICE]!.instances.default!;
    writeStatus(r, newMachine(NOW - 7_200_000, { state: "online" }), { pid: 777 });
    expect(svcs(d, ["-H", "-a"]).stdout).toBe("offline         8:12:01 svc:/system/svc/restarter:default\noffline         9:12:01 svc:/system/xvm/xend:default\n");
    expect(svcs(d, ["-x", "xend"]).stdout).toContain("Reason: The service's process (pid 666) exited while its restarter svc:/system/svc/restarter:default was not running; the next svcadm command starts one, which restarts the service.\n");
    // Degraded too; a live daemon stays online.
    expect(svcs(repo({ state: "degraded" }, NOW - 3_600_000, { pid: DEAD_DAEMON }), ["-H", "xend"]).stdout).toBe("offline         9:12:01 svc:/system/xvm/xend:default\n");
    expect(svcs(repo({}, NOW - 3_600_000, { pid: 1234 }), ["-H", "xend"]).stdout).toBe("online          9:12:01 svc:/system/xvm/xend:default\n");
  });
});

describe("dependents of a dead daemon", () => {
  it("with the restarter dead too, svc:/system/xvm/domains recorded online shows offline; with a live restarter it is left as recorded", () => {
    const d = repo({}, NOW - 3_600_000, { pid: DEAD_DAEMON }, true);
    const dom = d.services[DOMAINS_SERVICE]!.instances.default!;
    setEnabled(dom, true, false);
    writeStatus(dom, newMachine(NOW - 3_500_000, { state: "online" }), {});
    expect(svcs(d, ["-H", "-o", "state,fmri", "domains"]).stdout).toBe("online         svc:/system/xvm/domains:default\n");
    const r = d.services[RESTARTER_SERVICE]!.instances.default!;
    writeStatus(r, newMachine(NOW - 7_200_000, { state: "online" }), { pid: 777 });
    expect(svcs(d, ["-H", "-o", "state,fmri", "-a"]).stdout).toBe([
      "offline        svc:/system/xvm/xend:default",
      "offline        svc:/system/svc/restarter:default",
      "offline        svc:/system/xvm/domains:default",
      "",
    ].join("\n"));
    // A live xend keeps its dependents as recorded, restarter or not.
    expect(svcs(repo({}, NOW - 3_600_000, { pid: 1234 }, true), ["-H", "-o", "state,fmri", "xend"]).stdout).toBe("online         svc:/system/xvm/xend:default\n");
  });
});

describe("svcs -l and -L", () => {
  it("prints every field, 13 columns of label, contract_id with its trailing space", () => {
    const out = svcs(repo({}, NOW - 3_600_000, { pid: 99999, contract: 103 }), ["-l", "xend"]).stdout;
    expect(out).toBe([
      "fmri         svc:/system/xvm/xend:default",
      "name         xVM control daemon",
      "enabled      true",
      "state        online",
      "next_state   none",
      "state_time   Fri Sep  4 09:12:01 2026",
      `logfile      ${LOG}`,
      "restarter    svc:/system/svc/restarter:default",
      "contract_id  103 ",
      "",
    ].join("\n"));
  });

  it("a temporary override reads `enabled      false (temporary)`; paragraphs are separated by a blank line", () => {
    const d = repo({ state: "disabled" });
    setEnabled(d.services[XEND_SERVICE]!.instances.default!, false, true);
    const out = svcs(d, ["-l", "xend", "restarter"]).stdout;
    expect(out).toContain("enabled      false (temporary)\n");
    expect(out).toContain("contract_id  \n\nfmri         svc:/system/svc/restarter:default\nname         Master restarter\n");
  });

  it("-v adds the application groups of the running snapshot with the templates' descriptions", () => {
    const out = svcs(repo({}), ["-lv", "xend"]).stdout;
    expect(out).toMatch(/\nconfig \(application\)\n/);
    expect(out).toMatch(/\nconfig\/xend-relocation-port \(integer\) = 8002 \n  .+\n/);
  });

  it("-l without operands is a usage error; -L prints the log file", () => {
    expect(parseSvcs(["-l"])).toMatchObject({ exit: 2 });
    expect(svcs(repo({}), ["-L", "xend"]).stdout).toBe(`${LOG}\n`);
  });
});

describe("svcs -x", () => {
  it("explains maintenance for restarting too quickly, with the knowledge article, man page and log", () => {
    const d = repo({ state: "maintenance", aux: "restarting_too_quickly" });
    expect(svcs(d, ["-x"]).stdout).toBe([
      "svc:/system/xvm/xend:default (xVM control daemon)",
      " State: maintenance since Fri Sep  4 09:12:01 2026",
      "Reason: Restarting too quickly.",
      "   See: http://sun.com/msg/SMF-8000-L5",
      "   See: xend(1M)",
      `   See: ${LOG}`,
      "Impact: This service is not running.",
      "",
    ].join("\n"));
  });

  it("tells a start method's end from its wait status", () => {
    const cfg = repo({ state: "maintenance", aux: "method_failed", waitstatus: 96 << 8 });
    expect(svcs(cfg, ["-x"]).stdout).toContain("Reason: Start method exited with $SMF_EXIT_ERR_CONFIG.\n   See: http://sun.com/msg/SMF-8000-KS\n");
    const rep = repo({ state: "maintenance", aux: "fault_threshold_reached", waitstatus: 9 });
    expect(svcs(rep, ["-x"]).stdout).toContain("Reason: Start method failed repeatedly, last died on Killed (9).\n");
    const st = repo({ state: "maintenance", aux: "fault_threshold_reached", waitstatus: 1 << 8 });
    expect(svcs(st, ["-x"]).stdout).toContain("Reason: Start method failed repeatedly, last exited with status 1.\n");
    const admin = repo({ state: "maintenance", aux: "administrative_request" });
    expect(svcs(admin, ["-x"]).stdout).toContain("Reason: Maintenance requested by an administrator.\n   See: http://sun.com/msg/SMF-8000-63\n");
  });

  it("lists nothing without operands when all is well; with operands explains any state", () => {
    const d = repo({});
    expect(svcs(d, ["-x"]).stdout).toBe("");
    expect(svcs(d, ["-x", "xend"]).stdout).toBe([
      "svc:/system/xvm/xend:default (xVM control daemon)",
      " State: online since Fri Sep  4 09:12:01 2026",
      "   See: xend(1M)",
      `   See: ${LOG}`,
      "Impact: None.",
      "",
    ].join("\n"));
  });

  it("degraded by an administrator, or by the daemon with its reasons; disabled (temporarily)", () => {
    expect(svcs(repo({ state: "degraded", aux: "administrative_request" }), ["-x", "xend"]).stdout).toContain(
      "Reason: Degraded by an administrator.\n   See: http://sun.com/msg/SMF-8000-DX\n",
    );
    expect(svcs(repo({ state: "degraded", reason: ["plugin relocation failed in setup: EADDRINUSE"] }), ["-x", "xend"]).stdout).toContain(
      "Reason: Degraded by the service: plugin relocation failed in setup: EADDRINUSE\n   See: xend(1M)\n",
    );
    // A reason quoting a configuration value never brings a control character to the terminal.
    expect(svcs(repo({ state: "degraded", reason: ["config/x: bad value \"a\nFAKE\u001b[2J\""] }), ["-x", "xend"]).stdout).toContain(
      "Reason: Degraded by the service: config/x: bad value \"a\\nFAKE\\x1b[2J\"\n   See: xend(1M)\n",
    );
    const t = repo({ state: "disabled" });
    setEnabled(t.services[XEND_SERVICE]!.instances.default!, false, true);
    expect(svcs(t, ["-x", "xend"]).stdout).toContain("Reason: Temporarily disabled by an administrator.\n   See: http://sun.com/msg/SMF-8000-1S\n");
  });

  it("msg/base on the master restarter replaces the knowledge-base address", () => {
    const d = repo({ state: "maintenance", aux: "restarting_too_quickly" });
    setProp(d.services[RESTARTER_SERVICE]!.instances.default!.pgs, "msg", "base", "astring", ["http://illumos.org/msg/"]);
    expect(svcs(d, ["-x"]).stdout).toContain("   See: http://illumos.org/msg/SMF-8000-L5\n");
    // timeValue is the stored form of state_timestamp.
    expect(timeValue(1500)).toBe("1.500000000");
  });
});

describe("svcs command line", () => {
  it("-? prints the usage, the options and the columns on stdout, exit 0", () => {
    const r = parseSvcs(["-?"]);
    expect(r).toMatchObject({ exit: 0 });
    const text = (r as { stdout: string }).stdout;
    expect(text.startsWith("Usage: svcs [-aHpv] [-o col[,col ... ]] [-R restarter] [-sS col] [-Z | -z zone ]\n")).toBe(true);
    expect(text).toContain("\t-x  explain the status of services that might require maintenance,\n");
    expect(text).toContain("\tSTIME   time of last state change\n");
  });

  it("conflicting modes and options are usage errors (exit 2); getopt names a bad option", () => {
    for (const args of [["-l", "-x", "xend"], ["-x", "-H"], ["-x", "-p"], ["-l", "-o", "state", "xend"], ["-d"], ["-l", "-a", "xend"], ["-Z", "-z", "global"]]) {
      expect(parseSvcs(args)).toMatchObject({ exit: 2 });
    }
    expect(parseSvcs(["-k"])).toMatchObject({ exit: 2, stderr: expect.stringMatching(/^svcs: illegal option -- k\nUsage: svcs /) });
    expect(parseSvcs(["-o"])).toMatchObject({ exit: 2, stderr: expect.stringMatching(/^svcs: option requires an argument -- o\n/) });
    expect(parseSvcs(["-s", "bogus"])).toEqual({ exit: 1, stderr: 'svcs: Unrecognized sort column "bogus".\n' });
  });

  it("-a with operands is ignored with a warning", () => {
    expect(parseSvcs(["-a", "xend"])).toMatchObject({ all: true, warnings: ["svcs: -a ignored when used with arguments.\n"] });
  });
});
