/**
 * svcadm's bad input, against the compiled binary: SMF's messages and exit codes, and nothing
 * changed (no restarter started, no property written) when a command is refused.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MILESTONE_USAGE, SVCADM_USAGE } from "../../src/smf/restarter/svcadm-args.ts";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";

const XEND = "svc:/system/xvm/xend:default";
let root = "";
const svcadm = (...args: string[]) => run(["svcadm", ...args], { root });
const restarterStarted = () => existsSync(join(root, "var/run/svc/restarter.pid"));

beforeAll(() => {
  root = tempRoot("xvm-svcadm-errors-");
});

afterAll(async () => {
  await cleanupRoot(root);
});

describe("svcadm usage errors (exit 2)", () => {
  it("no command, an unknown command, missing operands: the Solaris 10 usage on stderr", () => {
    for (const args of [[], ["frobnicate", "xend"], ["enable"], ["restart"], ["mark", "maintenance"], ["mark", "offline", "xend"]]) {
      expect(svcadm(...args)).toEqual({ code: 2, stdout: "", stderr: SVCADM_USAGE });
    }
  });

  it("a bad option is named by getopt before the usage", () => {
    expect(svcadm("enable", "-x", "xend")).toEqual({ code: 2, stdout: "", stderr: `svcadm: illegal option -- x\n${SVCADM_USAGE}` });
    expect(svcadm("disable", "-r", "xend")).toEqual({ code: 2, stdout: "", stderr: `svcadm: illegal option -- r\n${SVCADM_USAGE}` });
  });

  it("mark -t degraded", () => {
    expect(svcadm("mark", "-t", "degraded", "xend")).toEqual({ code: 2, stdout: "", stderr: "svcadm: -t may not be used with degraded.\n" });
  });

  it("--help prints the command's usage with examples, exit 0", () => {
    const r = svcadm("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("svcadm enable -s xend");
    expect(r.stdout).toContain("svcadm refresh svc:/system/xvm/xend:default");
  });
});

describe("svcadm failures (exit 1)", () => {
  it("an unknown FMRI or pattern", () => {
    expect(svcadm("enable", "foo")).toEqual({ code: 1, stdout: "", stderr: "svcadm: Pattern 'foo' doesn't match any instances\n" });
    expect(svcadm("restart", "svc:/system/xvm/xend:other")).toEqual({
      code: 1, stdout: "", stderr: "svcadm: Pattern 'svc:/system/xvm/xend:other' doesn't match any instances\n",
    });
    expect(svcadm("restart", "-x")).toEqual({ code: 1, stdout: "", stderr: "svcadm: Pattern '-x' doesn't match any instances\n" });
    expect(restarterStarted()).toBe(false);
  });

  it("a pattern matching several instances is refused, listing them", () => {
    expect(svcadm("disable", "*:default")).toEqual({
      code: 1,
      stdout: "",
      stderr: `svcadm: Pattern '*:default' matches multiple instances:\n\t${XEND}\n\tsvc:/system/svc/restarter:default\n\tsvc:/system/xvm/domains:default\n`,
    });
  });

  it("clear of an instance that is not in maintenance or degraded; mark degraded when not online", () => {
    expect(svcadm("clear", "xend")).toEqual({
      code: 1, stdout: "", stderr: `svcadm: Instance "${XEND}" is not in a maintenance or degraded state.\n`,
    });
    expect(svcadm("mark", "degraded", "xend")).toEqual({ code: 1, stdout: "", stderr: `svcadm: Instance "${XEND}" is not online.\n` });
    expect(restarterStarted()).toBe(false);
  });

  it("one bad pattern among good ones: the good ones act, the exit status is 1", () => {
    const r = svcadm("-v", "disable", "nosuch", "system/xvm/x*");
    expect(r).toEqual({ code: 1, stdout: `${XEND} disabled.\n`, stderr: "svcadm: Pattern 'nosuch' doesn't match any instances\n" });
  });

  it("milestone: only \"all\" holds here; other names are refused; no operand is the milestone usage", () => {
    expect(svcadm("milestone", "all")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(svcadm("milestone", "frob")).toEqual({ code: 1, stdout: "", stderr: 'svcadm: "frob" is not a valid major milestone.\n' });
    expect(svcadm("milestone", "none")).toEqual({ code: 1, stdout: "", stderr: "svcadm: Pattern 'none' doesn't match any instances\n" });
    expect(svcadm("milestone")).toEqual({ code: 2, stdout: "", stderr: MILESTONE_USAGE });
  });

  it("the master restarter is not administered through itself", () => {
    expect(svcadm("disable", "svc:/system/svc/restarter:default")).toEqual({
      code: 1, stdout: "", stderr: "svcadm: Operation not supported for the master restarter 'svc:/system/svc/restarter:default'\n",
    });
  });

  it("refused commands left the repository's enabled values as they were", () => {
    const db = readFileSync(join(root, "etc/svc/repository.db"), "utf8");
    expect(db).not.toContain("general_ovr");
  });
});
