/**
 * svcs as a command, against the compiled binary: it only reads (never starts a restarter), is
 * reached through a link named `svcs` too, and keeps svcs(1)'s exit codes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";

let root = "";
const svcs = (...args: string[]) => run(["svcs", ...args], { root });

beforeAll(() => {
  root = newRepository(tempRoot("xvm-svcs-cli-"));
});

afterAll(async () => {
  await cleanupRoot(root);
});

describe("svcs", () => {
  it("lists the enabled instances of a new root, and all with -a, without starting a restarter", () => {
    expect(svcs()).toMatchObject({ code: 0, stderr: "" });
    // svc:/system/xvm/domains is enabled, and waits offline for xend.
    expect(svcs().stdout).toMatch(/^STATE {10}STIME {4}FMRI\noffline {8}[ \d]\d:\d\d:\d\d svc:\/system\/svc\/restarter:default\noffline {8}[ \d]\d:\d\d:\d\d svc:\/system\/xvm\/domains:default\n$/);
    expect(svcs("-a").stdout).toMatch(/^STATE {10}STIME {4}FMRI\ndisabled {7}[ \d]\d:\d\d:\d\d svc:\/system\/xvm\/xend:default\noffline /);
    expect(existsSync(join(root, "var/run/svc/restarter.pid"))).toBe(false);
  });

  it("answers to its own name through a link (multi-call binary)", () => {
    const r = run(["-H", "-o", "state,fmri", "xend"], { root, argv0: "svcs" });
    expect(r).toEqual({ code: 0, stdout: "disabled       svc:/system/xvm/xend:default\n", stderr: "" });
  });

  it("-? prints help on stdout (exit 0); a bad option prints the usage (exit 2)", () => {
    const help = svcs("-?");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("\tColumns for output or sorting can be specified using these names:\n");
    const bad = svcs("-k");
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toMatch(/^svcs: illegal option -- k\nUsage: svcs \[-aHpv\]/);
    expect(svcs("-l").code).toBe(2);
    expect(svcs("-x", "-H").code).toBe(2);
  });

  it("reports patterns that match nothing (exit 1) and fatal column errors (exit 1)", () => {
    expect(svcs("nosuch")).toEqual({ code: 1, stdout: "STATE          STIME    FMRI\n", stderr: "svcs: Pattern 'nosuch' doesn't match any instances\n" });
    expect(svcs("-o", "nope")).toEqual({ code: 1, stdout: "", stderr: 'svcs: Unknown column "nope".\n' });
    expect(svcs("-s", "nope")).toEqual({ code: 1, stdout: "", stderr: 'svcs: Unrecognized sort column "nope".\n' });
  });

  it("-l shows the detailed paragraph; -x explains a disabled instance", () => {
    expect(svcs("-l", "xend").stdout).toMatch(/^fmri {9}svc:\/system\/xvm\/xend:default\nname {9}xVM control daemon\nenabled {6}false\nstate {8}disabled\nnext_state {3}none\nstate_time {3}\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nrestarter {4}svc:\/system\/svc\/restarter:default\n$/);
    expect(svcs("-x", "xend").stdout).toContain("Reason: Disabled by an administrator.\n");
  });

  it("--help prints the command's usage with examples", () => {
    const r = svcs("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("svcs -l xend");
  });
});
