import { describe, expect, it } from "vitest";
import { SVCADM_USAGE, getopt, markAction, parseSvcadm } from "../../src/smf/restarter/svcadm-args.ts";

describe("svcadm command line (Solaris 10 getopt semantics)", () => {
  it("parses enable/disable options, clustered or separate", () => {
    expect(parseSvcadm(["enable", "-rst", "xend"])).toEqual({
      cmd: "enable", verbose: false, recursive: true, sync: true, temporary: true, patterns: ["xend"],
    });
    expect(parseSvcadm(["-v", "disable", "-s", "-t", "xend", "svc:/system/xvm/xend:default"])).toEqual({
      cmd: "disable", verbose: true, sync: true, temporary: true, patterns: ["xend", "svc:/system/xvm/xend:default"],
    });
    expect(parseSvcadm(["enable", "--", "-odd"])).toMatchObject({ cmd: "enable", patterns: ["-odd"] });
  });

  it("restart, refresh and clear take no options: a dash word is a pattern", () => {
    expect(parseSvcadm(["restart", "-x"])).toEqual({ cmd: "restart", verbose: false, patterns: ["-x"] });
    expect(parseSvcadm(["refresh", "xend"])).toEqual({ cmd: "refresh", verbose: false, patterns: ["xend"] });
    expect(parseSvcadm(["-v", "clear", "xend"])).toEqual({ cmd: "clear", verbose: true, patterns: ["xend"] });
  });

  it("mark takes -I and -t, a state and at least one service", () => {
    expect(parseSvcadm(["mark", "-It", "maintenance", "xend"])).toEqual({
      cmd: "mark", verbose: false, state: "maintenance", immediate: true, temporary: true, patterns: ["xend"],
    });
    expect(parseSvcadm(["mark", "degraded", "xend"])).toMatchObject({ state: "degraded", immediate: false });
  });

  it("usage (exit 2) for no command, an unknown one, missing operands or a bad mark state", () => {
    for (const args of [[], ["frob", "xend"], ["enable"], ["disable", "-s"], ["restart"], ["mark", "maintenance"], ["mark", "online", "xend"], ["-v"]]) {
      expect(parseSvcadm(args)).toEqual({ exit: 2, stderr: SVCADM_USAGE });
    }
  });

  it("a bad option: getopt's complaint, then the usage", () => {
    expect(parseSvcadm(["enable", "-x", "xend"])).toEqual({ exit: 2, stderr: `svcadm: illegal option -- x\n${SVCADM_USAGE}` });
    expect(parseSvcadm(["-q", "enable", "xend"])).toEqual({ exit: 2, stderr: `svcadm: illegal option -- q\n${SVCADM_USAGE}` });
    expect(parseSvcadm(["disable", "-r", "xend"])).toEqual({ exit: 2, stderr: `svcadm: illegal option -- r\n${SVCADM_USAGE}` });
  });

  it("mark -t degraded is refused with exit 2", () => {
    expect(parseSvcadm(["mark", "-t", "degraded", "xend"])).toEqual({ exit: 2, stderr: "svcadm: -t may not be used with degraded.\n" });
  });

  it("prints the Solaris 10 usage text", () => {
    expect(SVCADM_USAGE.split("\n").slice(0, 4)).toEqual([
      "Usage: svcadm [-v] [cmd [args ... ]]",
      "",
      "\tsvcadm enable [-rst] <service> ...\t- enable and online service(s)",
      "\tsvcadm disable [-st] <service> ...\t- disable and offline service(s)",
    ]);
  });

  it("maps mark options to the restarter_actions property", () => {
    expect(markAction("maintenance", false, false)).toBe("maint_on");
    expect(markAction("maintenance", true, false)).toBe("maint_on_immediate");
    expect(markAction("maintenance", false, true)).toBe("maint_on_temporary");
    expect(markAction("maintenance", true, true)).toBe("maint_on_immtemp");
    expect(markAction("degraded", true, false)).toBe("degrade_immediate");
    expect(markAction("degraded", false, false)).toBe("degraded");
  });

  it("getopt stops at the first operand and at --", () => {
    expect(getopt(["-s", "xend", "-t"], "st")).toEqual({ opts: ["s"], rest: ["xend", "-t"] });
    expect(getopt(["--", "-s"], "st")).toEqual({ opts: [], rest: ["-s"] });
    expect(getopt(["-"], "st")).toEqual({ opts: [], rest: ["-"] });
  });
});
