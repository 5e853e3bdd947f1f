/**
 * Bad input to the compiled svccfg/svcprop: SMF's message, the documented exit status, and the
 * repository left byte for byte as it was. Plus listprop's exact output.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";

let root: string;
let repoFile: string;

beforeAll(() => {
  root = newRepository(tempRoot("xvm-svccfg-err-"));
  repoFile = join(root, "etc/svc/repository.db");
  expect(run(["svccfg", "-s", "xend", "listpg", "config"], { root }).stdout).toBe("config  application\n");
});

afterAll(async () => {
  await cleanupRoot(root);
});

const svccfg = (args: string[], input?: string) => run(["svccfg", ...args], { root, ...(input === undefined ? {} : { input }) });

describe("svccfg rejects bad input with SMF's messages and changes nothing", () => {
  const INST = "svc:/system/xvm/xend:default";
  const cases: Array<[string, string[], string]> = [
    ["a wrong integer", ["-s", INST, "setprop", "config/dom0-cpus", "=", "abc"], 'Invalid "integer" value "abc".'],
    ["a wrong boolean", ["-s", INST, "setprop", "config/enable-dump", "=", "yes"], 'Invalid "boolean" value "yes".'],
    ["a wrong explicit integer", ["-s", "xend", "setprop", "config/dom0-min-mem", "=", "integer:", "1.5"], 'Invalid "integer" value "1.5".'],
    ["a count that is no number", ["-s", "xend", "setprop", "start/timeout_seconds", "=", "abc"], 'Invalid "count" value "abc".'],
    ["an integer out of int64", ["-s", "xend", "setprop", "config/dom0-cpus", "=", "9223372036854775808"], 'Invalid "integer" value "9223372036854775808".'],
    ["a port out of range", ["-s", "xend", "setprop", "config/xend-relocation-port", "=", "70000"], 'Invalid "integer" value "70000" for config/xend-relocation-port (1-65535).'],
    ["a negative memory size", ["-s", "xend", "setprop", "config/dom0-min-mem", "=", "-1"], 'Invalid "integer" value "-1" for config/dom0-min-mem'],
    ["a wrong type for a declared property", ["-s", "xend", "setprop", "config/dom0-cpus", "=", "astring:", "1"], 'Invalid type "astring" for config/dom0-cpus (the template requires "integer").'],
    ["an unknown type", ["-s", "xend", "setprop", "config/dom0-cpus", "=", "int:", "1"], 'Unknown type "int:".'],
    ["an unknown property group", ["-s", "xend", "setprop", "x/y", "=", "integer:", "1"], 'No such property group "x".'],
    ["a new property without a type", ["-s", "xend", "setprop", "config/new", "=", "1"], "Type required for new properties."],
    ["a setprop without a /", ["-s", "xend", "setprop", "dom0-cpus", "=", "1"], "Property names must contain a `/'."],
    ["an unknown FMRI", ["-s", "svc:/system/nope", "listprop"], "Pattern 'svc:/system/nope' doesn't match any instances or services"],
    ["an unknown abbreviation", ["-s", "nope", "listprop"], "Pattern 'nope' doesn't match any instances or services"],
    ["an unknown instance", ["-s", "xend:nope", "listprop"], "Pattern 'xend:nope' doesn't match any instances or services"],
    ["an unknown command", ["-s", "xend", "frobnicate"], 'Unknown command "frobnicate".'],
    ["a malformed setprop", ["-s", "xend", "setprop", "config/dom0-cpus", "1"], "Syntax error."],
    ["an unquoted string list", ["-s", "xend", "setprop", "config/default-nic", "=", "(a", "b)"], "Multiple string values or string values with spaces must be quoted with '\"'."],
    ["a missing property", ["-s", "xend", "delprop", "config/nope"], "No such property config/nope."],
    ["a refresh without an instance", ["-s", "xend", "refresh"], "Instance not selected."],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 1`, () => {
      const before = readFileSync(repoFile);
      const r = svccfg(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.startsWith(`svccfg: ${message}`)).toBe(true);
      expect(r.stderr.endsWith("\n")).toBe(true);
      expect(r.stderr.split("\n").length).toBe(2);
      expect(readFileSync(repoFile)).toEqual(before);
    });
  }

  it("stops a batch on stdin at its first error, naming the line", () => {
    const before = readFileSync(repoFile);
    const r = svccfg(["-s", "xend"], "setprop config/dom0-cpus = 2\nsetprop config/dom0-cpus = two\n");
    expect(r).toEqual({ code: 1, stdout: "", stderr: 'svccfg (<stdin>, line 2): Invalid "integer" value "two".\n' });
    // The first command had committed; the second changed nothing.
    expect(svccfg(["-s", "xend", "listprop", "config/dom0-cpus"]).stdout).toBe("config/dom0-cpus  integer  2\n");
    expect(readFileSync(repoFile)).not.toEqual(before);
    expect(svccfg(["-s", "xend", "setprop", "config/dom0-cpus", "=", "0"]).code).toBe(0);
  });

  it("exits 2 with the usage for a bad command line", () => {
    expect(svccfg(["-q"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "svccfg: illegal option -- q\nUsage:\tsvccfg [-v] [-s FMRI] [-f file]\n\tsvccfg [-v] [-s FMRI] <command> [args]\n",
    });
  });
});

describe("svcprop errors", () => {
  it("reports missing groups and properties (exit 1), quietly with -q, and usage (exit 2)", () => {
    expect(run(["svcprop", "-p", "config/nope", "xend"], { root })).toEqual({
      code: 1, stdout: "", stderr: "svcprop: Couldn't find property `config/nope' for instance `svc:/system/xvm/xend:default'.\n",
    });
    expect(run(["svcprop", "-p", "nope", "xend"], { root })).toEqual({
      code: 1, stdout: "", stderr: "svcprop: Couldn't find property group `nope' for instance `svc:/system/xvm/xend:default'.\n",
    });
    expect(run(["svcprop", "-q", "-p", "config/nope", "xend"], { root })).toEqual({ code: 1, stdout: "", stderr: "" });
    expect(run(["svcprop", "-q", "-p", "config/dom0-cpus", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(run(["svcprop", "-p", "config/dom0-cpus", "nope"], { root })).toEqual({
      code: 1, stdout: "", stderr: "svcprop: Pattern 'nope' doesn't match any entities\n",
    });
    const usage = "Usage: svcprop [-fqtv] [-C | -c | -s snapshot] [-p [name/]name]... \n         {FMRI | pattern}...\n       svcprop -w [-fqtv] [-p [name/]name] {FMRI | pattern}\n";
    expect(run(["svcprop"], { root })).toEqual({ code: 2, stdout: "", stderr: usage });
    expect(run(["svcprop", "-p", "a/b/c", "xend"], { root })).toEqual({ code: 2, stdout: "", stderr: `svcprop: -p argument \`a/b/c' has too many components.\n${usage}` });
    expect(run(["svcprop", "-c", "-s", "running", "xend"], { root }).code).toBe(2);
    expect(run(["svcprop", "-s", "nope", "-p", "config/dom0-cpus", "xend"], { root })).toEqual({ code: 1, stdout: "", stderr: "svcprop: No such snapshot.\n" });
  });
});

describe("listprop output, byte for byte", () => {
  it("lays out groups, properties, types and quoted values exactly", () => {
    const script = [
      "addpg demo application",
      'setprop demo/nic = astring: ""',
      'setprop demo/hosts = astring: "^flax$ ^localhost$"',
      "setprop demo/allow = astring: ^localhost$",
      'setprop demo/list = astring: ("a" "b c")',
      "setprop demo/cpus = integer: 0x10",
      "setprop demo/on = boolean: t",
      "setprop demo/timeout = count: 60",
      "setprop demo/when = time: 5.5",
      "addpg other framework P",
    ].join("\n");
    expect(svccfg(["-s", "xend"], script)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(svccfg(["-s", "xend", "listprop", "demo"]).stdout).toBe(
      "demo          application\n" +
        "demo/nic      astring  \n" +
        'demo/hosts    astring  "^flax$ ^localhost$"\n' +
        "demo/allow    astring  ^localhost$\n" +
        'demo/list     astring  "a" "b c"\n' +
        "demo/cpus     integer  16\n" +
        "demo/on       boolean  true\n" +
        "demo/timeout  count    60\n" +
        "demo/when     time     5.500000000\n",
    );
    expect(svccfg(["-s", "xend", "listpg", "[do]*"]).stdout).toBe("demo   application\nother  framework\tNONPERSISTENT\n");
    expect(svccfg(["-s", "svc:/system/xvm/xend:default", "listprop", "config/dom0*"]).stdout).toBe(
      "config/dom0-cpus     integer  0\nconfig/dom0-min-mem  integer  196\n",
    );
    expect(svccfg(["-s", "svc:/system/xvm/xend:default", "listpg", "general"]).stdout).toBe("general  framework\n");
    expect(svccfg(["-s", "xend", "delpg", "demo"]).code).toBe(0);
    expect(svccfg(["-s", "xend", "delpg", "other"]).code).toBe(0);
  });
});
