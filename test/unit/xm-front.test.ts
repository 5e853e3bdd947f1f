/**
 * xm's argument handling before clipanion (src/cli/xm/front.ts): 3.4's lookup (aliases, unique
 * prefixes), arg_check's messages and usage text, getopt's unknown-option messages.
 */
import { describe, expect, it } from "vitest";
import { buildCli } from "../../src/cli/main.ts";
import { attachDashValues, lookup, syntaxError, unknownOption, usageText, xmCommandSpecs, xmFront, type CommandSpec } from "../../src/cli/xm/front.ts";
import { cmdHelp34, wrap } from "../../src/cli/xm/xm34.ts";

const specs = xmCommandSpecs(await buildCli("xm"));
const names = new Set(specs.keys());

describe("lookup", () => {
  it("takes exact names, 3.4's aliases with its deprecation notice, and unique prefixes", () => {
    expect(lookup("list", names)).toEqual({ name: "list" });
    expect(lookup("balloon", names)).toEqual({ name: "mem-set", deprecated: "Command balloon is deprecated.  Please use xm mem-set instead.\n" });
    expect(lookup("set-vcpus", names)?.name).toBe("vcpu-set");
    expect(lookup("vif-list", names)?.name).toBe("network-list");
    expect(lookup("li", names)).toEqual({ name: "list" });
    expect(lookup("unp", names)).toEqual({ name: "unpause" });
    expect(lookup("domn", names)).toEqual({ name: "domname" });
  });

  it("refuses one letter, ambiguous prefixes (over 3.4's names too) and unknown words", () => {
    expect(lookup("l", names)).toBeUndefined();
    expect(lookup("dom", names)).toBeUndefined(); // domid, domname
    expect(lookup("sh", names)).toBeUndefined(); // shell (3.4), shutdown
    expect(lookup("re", names)).toBeUndefined();
    expect(lookup("bogus", names)).toBeUndefined();
    // A unique prefix of a 3.4 command xvm does not have is not found either.
    expect(lookup("vnet-c", names)).toBeUndefined();
  });
});

describe("xmFront", () => {
  it("rewrites the subcommand and passes the rest through", () => {
    expect(xmFront(["li", "-l", "web1"], specs)).toEqual({ args: ["list", "-l", "web1"], stdout: "", stderr: "", command: "list" });
    expect(xmFront(["balloon", "web1", "256"], specs)).toEqual({
      args: ["mem-set", "web1", "256"], stdout: "", stderr: "Command balloon is deprecated.  Please use xm mem-set instead.\n", command: "mem-set",
    });
    expect(xmFront([], specs).args).toEqual([]);
    expect(xmFront(["bogus", "x"], specs).args).toEqual(["bogus", "x"]);
    expect(xmFront(["pau", "--help"], specs).args).toEqual(["pause", "--help"]);
  });

  it("answers a wrong argument count as arg_check did", () => {
    expect(xmFront(["pause"], specs)).toEqual({
      exit: 1, command: "pause",
      stderr: "Error: 'xm pause' requires 1 argument.\n\n",
      stdout: "Usage: xm pause <Domain>\n\nPause execution of a domain.\n",
    });
    expect(xmFront(["pause", "a", "b"], specs).stderr).toBe("Error: 'xm pause' requires 1 argument.\n\n");
    expect(xmFront(["rename", "a"], specs).stderr).toBe("Error: 'xm rename' requires 2 arguments.\n\n");
    expect(xmFront(["trigger", "a"], specs).stderr).toBe("Error: 'xm trigger' requires between 2 and 3 arguments.\n\n");
    expect(xmFront(["log", "x"], specs).stderr).toBe("Error: 'xm log' requires 0 arguments.\n\n");
    // `--` is not counted; options are (3.4 counted every word).
    expect(xmFront(["pause", "--", "a"], specs).exit).toBeUndefined();
    expect(xmFront(["info", "-c", "x"], specs).stderr).toBe("Error: 'xm info' requires between 0 and 1 arguments.\n\n");
    // --json is xvm's and not counted.
    expect(xmFront(["info", "-c", "--json"], specs).exit).toBeUndefined();
  });

  it("answers network-list without a domain on stdout, and start with OptionError's text", () => {
    const none = xmFront(["network-list", "-l"], specs);
    expect([none.exit, none.stderr]).toEqual([1, ""]);
    expect(none.stdout.startsWith("No domain parameter given\nUsage: xm network-list <Domain> [--long]\n")).toBe(true);
    expect(xmFront(["network-list", "a", "b"], specs).stdout.startsWith("No multiple domain parameters allowed\n")).toBe(true);
    const start = xmFront(["start", "-p"], specs);
    expect(start.stderr).toBe("Error: Expects 1 argument\n");
    expect(start.stdout.endsWith("-autopass\n\n\n")).toBe(true);
  });

  it("names an unknown option as Python's getopt did", () => {
    const r = xmFront(["list", "--foo"], specs);
    expect([r.exit, r.stderr]).toEqual([1, "Error: option --foo not recognized\n"]);
    expect(r.stdout).toBe(cmdHelp34("list"));
    expect(xmFront(["uptime", "a", "-q"], specs).stderr).toBe("Error: option -q not recognized\n");
    expect(xmFront(["list", "--state"], specs).stderr).toBe("Error: option --state requires argument\n");
    expect(xmFront(["list", "-l", "--state=running"], specs).exit).toBeUndefined();
  });
});

describe("unknownOption", () => {
  const spec: CommandSpec = {
    usage: "xvm xm x", description: "",
    options: [{ names: ["-l", "--long"], takesValue: false }, { names: ["-d", "--domain"], takesValue: true }],
  };
  it("walks clusters, values and --", () => {
    expect(unknownOption(["-ld", "x", "-l"], spec)).toBeUndefined();
    expect(unknownOption(["-dx", "-l"], spec)).toBeUndefined();
    expect(unknownOption(["-lq"], spec)).toBe("option -q not recognized");
    expect(unknownOption(["-d"], spec)).toBe("option -d requires argument");
    expect(unknownOption(["--long=1"], spec)).toBe("option --long must not have an argument");
    expect(unknownOption(["--", "-q"], spec)).toBeUndefined();
    expect(unknownOption(["-", "x"], spec)).toBeUndefined();
  });

  it("gives an option the dash-led value getopt would (-d -1 is --domain=-1)", () => {
    expect(attachDashValues(["-d", "-1", "-l", "--domain", "-x", "-d", "y"], spec)).toEqual(["--domain=-1", "-l", "--domain=-x", "-d", "y"]);
    expect(attachDashValues(["--", "-d", "-1"], spec)).toEqual(["--", "-d", "-1"]);
  });
});

describe("usage text", () => {
  it("is cmdHelp's: usage line, description, options wrapped at 43 columns", () => {
    expect(cmdHelp34("sched-credit")).toBe(
      "Usage: xm sched-credit [-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]\n\nGet/set credit scheduler parameters.\n" +
      `  ${"-d DOMAIN, --domain=DOMAIN".padEnd(30)} ${"Domain to modify".padEnd(43)}\n` +
      `  ${"-w WEIGHT, --weight=WEIGHT".padEnd(30)} ${"Weight (int)".padEnd(43)}\n` +
      `  ${"-c CAP, --cap=CAP".padEnd(30)} ${"Cap (int)".padEnd(43)}\n\n`,
    );
    expect(wrap("Connect to the console after the domain is created", 43)).toEqual(["Connect to the console after the domain is", "created"]);
    expect(cmdHelp34("nothing")).toBeUndefined();
  });

  it("falls back to our usage for a command 3.4 did not have", () => {
    expect(usageText("frob", { usage: "xvm xm frob <Domain>", description: "frob a domain\n", options: [] })).toBe("Usage: xm frob <Domain>\n\nFrob a domain.\n");
  });

  it("turns clipanion's syntax errors into xm's", () => {
    const e = Object.assign(new Error('Unsupported option name ("--x").'), { name: "UnknownSyntaxError" });
    expect(syntaxError(e, "list", specs)).toEqual({ stderr: "Error: option --x not recognized\n", stdout: cmdHelp34("list") });
    expect(syntaxError(new Error("boom"), "list", specs)).toBeUndefined();
  });
});
