/**
 * svccfg's engine in-process against a temporary repository: listprop layout, setprop rules,
 * messages and exit statuses in each mode. (The compiled binary is exercised in test/e2e.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Paths } from "../../src/paths.ts";
import { Repository, runningConfig } from "../../src/smf/repository.ts";
import { svccfgMain } from "../../src/smf/svccfg/main.ts";

let root: string;
let repo: Repository;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-svccfg-unit-"));
  repo = new Repository(new Paths(root));
  // A root where the manifest was imported, as on an installed host (reading commands create none).
  repo.read();
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function svccfg(args: string[], input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
  stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
  stdin.end(input);
  const code = await svccfgMain(args, { stdin, stdout, stderr }, repo);
  return { code, stdout: out, stderr: err };
}

const INST = "svc:/system/xvm/xend:default";

describe("listprop layout", () => {
  it("pads names to the longest one printed, then two spaces, the type padded to 7, a space, ' value' each", async () => {
    const r = await svccfg(["-s", INST, "listprop", "config/dom0*"]);
    expect(r).toEqual({
      code: 0,
      stderr: "",
      stdout: "config/dom0-cpus     integer  0\nconfig/dom0-min-mem  integer  196\n",
    });
  });

  it("quotes values with blanks or \"()\", string lists, escapes \" and \\, and prints an empty value as nothing", async () => {
    const script = [
      "addpg test application",
      'setprop test/empty = astring: ""',
      'setprop test/blank = astring: "a b"',
      'setprop test/paren = astring: "f(x)"',
      'setprop test/quote = astring: "say \\"hi\\" \\\\o/"',
      'setprop test/list = astring: ("one" "two")',
      "setprop test/ints = integer: (1 0x10 010)",
      "setprop test/none = count: ()",
      "setprop test/c = count: 5",
      "setprop test/tab = ustring: \"a\tb\"",
      "listprop test",
      "listpg test",
      "listprop test/e*",
    ].join("\n");
    const r = await svccfg(["-s", "xend"], script);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      "test        application\n" +
        "test/empty  astring  \n" +
        'test/blank  astring  "a b"\n' +
        'test/paren  astring  "f(x)"\n' +
        'test/quote  astring  "say \\"hi\\" \\\\o/"\n' +
        'test/list   astring  "one" "two"\n' +
        "test/ints   integer  1 16 8\n" +
        "test/none   count   \n" +
        "test/c      count    5\n" +
        'test/tab    ustring  "a\\tb"\n' +
        "test  application\n" +
        "test/empty  astring  \n",
    );
  });

  it("escapes control characters in values (a value never spans lines nor moves the cursor)", async () => {
    const script = [
      "addpg test application",
      'setprop test/nl = astring: "line1',
      'line2"',
      "setprop test/esc = astring: a\u001b[2Jb",
      "setprop test/bell = astring: \u0007",
      "listprop test/*",
    ].join("\n");
    const r = await svccfg(["-s", "xend"], script);
    expect(r).toEqual({
      code: 0,
      stderr: "",
      stdout: 'test/nl    astring  "line1\\nline2"\ntest/esc   astring  "a\\x1b[2Jb"\ntest/bell  astring  "\\x07"\n',
    });
  });

  it("quotes a rejected value cut to 80 characters with control characters escaped", async () => {
    const long = `12${"9".repeat(300)}`;
    const r = await svccfg(["-s", INST, "setprop", "config/dom0-cpus", "=", long]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: `svccfg: Invalid "integer" value "${long.slice(0, 80)}…".\n` });
    const esc = await svccfg(["-s", INST, "setprop", "config/loglevel", "=", "astring:", "\u001b[31mLOUD"]);
    expect(esc.stderr).toBe('svccfg: Invalid "astring" value "\\x1b[31mLOUD" for config/loglevel (TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL).\n');
    const name = await svccfg(["-s", "xend", "frob\u001b]0;owned\u0007"]);
    expect(name.stderr).toBe('svccfg: Unknown command "frob\\x1b]0;owned\\x07".\n');
    const pattern = await svccfg(["-s", `x${"\r".repeat(200)}`, "listprop"]);
    expect(pattern.stderr).toBe(`svccfg: Pattern 'x${"\\r".repeat(79)}…' doesn't match any instances or services\n`);
  });

  it("marks nonpersistent groups and matches patterns against groups and pg/prop names", async () => {
    const r = await svccfg(["-s", INST, "listpg", "rest*"]);
    expect(r.stdout).toBe("restarter  framework\tNONPERSISTENT\n");
    const none = await svccfg(["-s", INST, "listprop", "nothing*"]);
    expect(none).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  it("shows the composed view at the instance: every config property with the value the daemon would use", async () => {
    await svccfg(["-s", "svc:system/xvm/xend", "setprop", "config/dom0-min-mem", "=", "512"]);
    await svccfg(["-s", INST, "setprop", "config/dom0-cpus", "=", "2"]);
    const inst = await svccfg(["-s", INST, "listprop", "config"]);
    const lines = inst.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^config +application$/);
    const width = lines[0]!.length - "  application".length;
    const declared = Object.keys(repo.read().templates["svc:/system/xvm/xend"]!);
    const shown = lines.slice(1).map((l) => l.slice(0, width).trimEnd());
    expect(shown).toEqual(declared);
    for (const l of lines) expect(l.slice(width, width + 2)).toBe("  ");
    expect(inst.stdout).toContain(`${"config/dom0-cpus".padEnd(width)}  integer  2\n`);
    expect(inst.stdout).toContain(`${"config/dom0-min-mem".padEnd(width)}  integer  512\n`);
    // The service shows its own values.
    const svc = await svccfg(["-s", "xend", "listprop", "config/dom0*"]);
    expect(svc.stdout).toBe("config/dom0-cpus     integer  0\nconfig/dom0-min-mem  integer  512\n");
  });
});

describe("setprop", () => {
  it("normalises values by type and keeps the property's type", async () => {
    expect((await svccfg(["-s", "xend", "setprop", "config/dom0-min-mem", "=", "0x400"])).code).toBe(0);
    expect((await svccfg(["-s", "xend", "setprop", "config/enable-dump", "=", "f"])).code).toBe(0);
    const r = await svccfg(["-s", "xend", "listprop", "config/[de][on]*"]);
    expect(r.stdout).toContain("config/dom0-min-mem  integer  1024\n");
    expect(r.stdout).toContain("config/enable-dump   boolean  false\n");
  });

  it("changes only the editing values until refresh publishes them to the running snapshot", async () => {
    await svccfg(["-s", INST, "setprop", "config/dom0-cpus", "=", "1"]);
    expect(runningConfig(repo.read())["dom0-cpus"]).toBe(0);
    expect(await svccfg(["-s", INST, "refresh"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(runningConfig(repo.read())["dom0-cpus"]).toBe(1);
  });

  it("at an instance creates the instance's own value (inheriting the type) that overrides the service's", async () => {
    await svccfg(["-s", INST, "setprop", "config/dom0-min-mem", "=", "300"]);
    const data = repo.read();
    expect(data.services["system/xvm/xend"]!.instances.default!.pgs.config!.props["dom0-min-mem"]).toEqual({ type: "integer", values: ["300"] });
    expect(data.services["system/xvm/xend"]!.pgs.config!.props["dom0-min-mem"]).toEqual({ type: "integer", values: ["196"] });
    // Deleting the instance's value lets the service's show through again.
    await svccfg(["-s", INST, "delprop", "config/dom0-min-mem"]);
    expect((await svccfg(["-s", INST, "listprop", "config/dom0-min-mem"])).stdout).toBe("config/dom0-min-mem  integer  196\n");
  });

  it("creates new properties with a type, and infers none without one", async () => {
    expect(await svccfg(["-s", "xend", "setprop", "config/extra", "=", "astring:", "x"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await svccfg(["-s", "xend", "setprop", "config/other", "=", "x"])).toEqual({
      code: 1, stdout: "", stderr: "svccfg: Type required for new properties.\n",
    });
  });

  it("changes the type when one is given for a property without a template", async () => {
    await svccfg(["-s", "xend", "setprop", "config/extra", "=", "astring:", "5"]);
    await svccfg(["-s", "xend", "setprop", "config/extra", "=", "integer:", "5"]);
    expect((await svccfg(["-s", "xend", "listprop", "config/extra"])).stdout).toBe("config/extra  integer  5\n");
  });

  it("needs quotes around each string of a list", async () => {
    const r = await svccfg(["-s", "xend", "setprop", "config/xend-relocation-hosts-allow", "=", "(a", "b)"]);
    expect(r).toEqual({ code: 1, stdout: "", stderr: "svccfg: Multiple string values or string values with spaces must be quoted with '\"'.\n" });
  });

  it("enforces templates: type, a single value, ranges and allowed values", async () => {
    const cases: Array<[string[], string]> = [
      [["config/xend-relocation-port", "=", "70000"], 'Invalid "integer" value "70000" for config/xend-relocation-port (1-65535).'],
      [["config/xend-relocation-port", "=", "0"], 'Invalid "integer" value "0" for config/xend-relocation-port (1-65535).'],
      [["config/loglevel", "=", "LOUD"], 'Invalid "astring" value "LOUD" for config/loglevel (TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL).'],
      [["config/dom0-cpus", "=", "astring:", "x"], 'Invalid type "astring" for config/dom0-cpus (the template requires "integer").'],
      [["config/dom0-cpus", "=", "(1", "2)"], "Property config/dom0-cpus takes exactly one value."],
      [["config/dom0-cpus", "=", "abc"], 'Invalid "integer" value "abc".'],
      [["config/enable-dump", "=", "yes"], 'Invalid "boolean" value "yes".'],
    ];
    repo.read();
    const before = readFileSync(repo.paths.repository);
    for (const [args, message] of cases) {
      expect(await svccfg(["-s", INST, "setprop", ...args])).toEqual({ code: 1, stdout: "", stderr: `svccfg: ${message}\n` });
    }
    expect(readFileSync(repo.paths.repository)).toEqual(before);
  });
});

describe("messages and exit statuses", () => {
  it("reports command-line errors as 'svccfg: <msg>' and exits 1", async () => {
    const cases: Array<[string[], string]> = [
      [["-s", "nope", "listprop"], "Pattern 'nope' doesn't match any instances or services"],
      [["-s", "xend", "setprop", "config", "=", "1"], "Property names must contain a `/'."],
      [["-s", "xend", "setprop", "nope/x", "=", "integer:", "1"], 'No such property group "nope".'],
      [["-s", "xend", "setprop", "config/x", "=", "int:", "1"], 'Unknown type "int:".'],
      [["-s", "xend", "setprop", "config/x", "=", "foo", "bar"], 'Unknown type "foo".'],
      [["-s", "xend", "frobnicate"], 'Unknown command "frobnicate".'],
      [["-s", "xend", "setprop", "config/x"], "Syntax error."],
      [["-s", "xend", "refresh"], "Instance not selected."],
      [["-s", "xend", "delprop", "config/nope"], "No such property config/nope."],
      [["-s", "xend", "delpg", "nope"], 'No such property group "nope".'],
      [["-s", "xend", "delpg", "a/b"], 'Invalid property group name "a/b".'],
      [["-s", "xend", "addpg", "config", "application"], "Property group already exists."],
      [["-s", "xend", "addpg", "9x", "application"], "Name, type, or flags are invalid."],
      [["-s", "xend", "addpg", "x", "application", "Q"], "Invalid property group flag Q."],
      [["listprop"], "An entity is not selected."],
      [["unselect"], "Cannot unselect at scope level."],
      [["select", ":properties"], ":properties is not an entity.  Try 'listprop' to list properties."],
      [["-s", "default", "listprop"], "Pattern 'default' matches multiple instances:\n    svc:/system/xvm/xend:default\n    svc:/system/svc/restarter:default\n    svc:/system/xvm/domains:default"],
      [["-s", "xend", "archive"], '"archive" is not supported by xvm\'s svccfg.'],
      [["-s", INST, "selectsnap", "nope"], "No such snapshot."],
      [["-s", INST, "setprop", "config/dom0-cpus", "=", "astring:bar"], 'Invalid "integer" value "astring:bar".'],
    ];
    for (const [args, message] of cases) {
      expect(await svccfg(args), args.join(" ")).toEqual({ code: 1, stdout: "", stderr: `svccfg: ${message}\n` });
    }
  });

  it("rejects a bad command line with the usage and exit 2", async () => {
    const usage = "Usage:\tsvccfg [-v] [-s FMRI] [-f file]\n\tsvccfg [-v] [-s FMRI] <command> [args]\n";
    expect(await svccfg(["-x"])).toEqual({ code: 2, stdout: "", stderr: `svccfg: illegal option -- x\n${usage}` });
    expect(await svccfg(["-s"])).toEqual({ code: 2, stdout: "", stderr: `svccfg: option requires an argument -- s\n${usage}` });
  });

  it("prefixes errors from stdin with '(<stdin>, line N)' and stops at the first one", async () => {
    const r = await svccfg(["-s", "xend"], "listpg config\n\nsetprop config/dom0-cpus = x\nsetprop config/dom0-cpus = 5\n");
    expect(r).toEqual({ code: 1, stdout: "config  application\n", stderr: 'svccfg (<stdin>, line 3): Invalid "integer" value "x".\n' });
    expect(repo.read().services["system/xvm/xend"]!.pgs.config!.props["dom0-cpus"]!.values).toEqual(["0"]);
  });

  it("numbers a continued command by its last line", async () => {
    const r = await svccfg(["-s", "xend"], "setprop config/dom0-cpus = \\\nabc\n");
    expect(r.stderr).toBe('svccfg (<stdin>, line 2): Invalid "integer" value "abc".\n');
  });

  it("runs -f files with the file name in messages, and stops at end", async () => {
    const file = join(root, "cmds");
    writeFileSync(file, "select xend\nsetprop config/dom0-cpus = 4\nend\nsetprop config/dom0-cpus = 5\n");
    expect(await svccfg(["-f", file])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(repo.read().services["system/xvm/xend"]!.pgs.config!.props["dom0-cpus"]!.values).toEqual(["4"]);
    writeFileSync(file, "select xend\n# comment\nbogus\n");
    expect(await svccfg(["-f", file])).toEqual({ code: 1, stdout: "", stderr: `svccfg (${file}, line 3): Unknown command "bogus".\n` });
    expect(await svccfg(["-f", join(root, "missing")])).toEqual({
      code: 1, stdout: "", stderr: `svccfg: Could not open ${join(root, "missing")}: No such file or directory.\n`,
    });
  });

  it("prints help through the message rules", async () => {
    const r = await svccfg(["help", "listprop"]);
    expect(r).toEqual({
      code: 0, stdout: "",
      stderr: "svccfg: Usage: listprop [glob_pattern]\n\nList property groups and properties of the currently selected entity.\n",
    });
    expect((await svccfg(["help"])).stderr).toMatch(/^svccfg: General commands:\t help set repository end\n/);
  });

  it("dies on an unterminated string", async () => {
    expect(await svccfg(["-s", "xend"], 'setprop config/default-nic = "abc\n')).toEqual({
      code: 1, stdout: "", stderr: 'svccfg: unrecognized character "\n',
    });
  });
});

describe("selection, listing and the other commands", () => {
  it("selects and unselects through the levels", async () => {
    const r = await svccfg([], "list\nselect system/xvm/xend\nlist\nselect default\nlist\nunselect\nunselect\nselect svc:/system/xvm/xend:default\nlistpg general\nselect svc:\nlist xvm*\n");
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("system/xvm/xend\nsystem/svc/restarter\nsystem/xvm/domains\n:properties\ndefault\n:properties\ngeneral  framework\n");
  });

  it("lists and selects snapshots (read-only)", async () => {
    const r = await svccfg(["-s", INST], "listsnap\nselectsnap running\nlistprop config/dom0-cpus\nsetprop config/dom0-cpus = 3\n");
    expect(r).toEqual({ code: 1, stdout: "initial\nrunning\nconfig/dom0-cpus  integer  0\n", stderr: "svccfg (<stdin>, line 4): Cannot modify snapshots.\n" });
  });

  it("adds and deletes values and groups", async () => {
    const r = await svccfg(["-s", "xend"], [
      "addpg extra application P",
      "addpropvalue extra/list astring: a",
      'addpropvalue extra/list "b c"',
      "addpropvalue extra/list astring: d",
      'delpropvalue extra/list "[ad]"',
      "listprop extra",
      "delprop extra/list",
      "listprop extra",
      "delpg extra",
      "listpg extra",
    ].join("\n"));
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe('extra       application\tNONPERSISTENT\nextra/list  astring  "b c"\nextra  application\tNONPERSISTENT\n');
  });

  it("describes properties with their plugin's description", async () => {
    const r = await svccfg(["-s", "xend", "describe", "config/dom0-cpus"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(0, 2)).toEqual(["    common name: xVM control daemon", "config/dom0-cpus  integer  0"]);
    const desc = repo.read().templates["svc:/system/xvm/xend"]!["config/dom0-cpus"]!.description;
    expect(r.stdout).toBe(`    common name: xVM control daemon\nconfig/dom0-cpus  integer  0\n    ${desc}\n`);
    const v = await svccfg(["-s", "xend", "describe", "-v", "config/xend-relocation-port"]);
    expect(v.stdout).toContain("    type: integer\n");
    expect(v.stdout).toContain("  value: 8002\n  value constraints:\n    range: 1 to 65535\n");
  });

  it("exports a service manifest with its properties and templates", async () => {
    await svccfg(["-s", "xend", "setprop", "config/xend-relocation-hosts-allow", "=", '"^flax$ ^localhost$"']);
    const r = await svccfg(["export", "xend"]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(0, 4)).toEqual([
      "<?xml version='1.0'?>",
      "<!DOCTYPE service_bundle SYSTEM '/usr/share/lib/xml/dtd/service_bundle.dtd.1'>",
      "<service_bundle type='manifest' name='export'>",
      "  <service name='system/xvm/xend' type='service' version='0'>",
    ]);
    expect(r.stdout).toContain("    <exec_method name='start' type='method' exec='/usr/lib/xend' timeout_seconds='60'/>\n");
    expect(r.stdout).toContain("      <propval name='xend-relocation-hosts-allow' type='astring' value='^flax$ ^localhost$'/>\n");
    expect(r.stdout).toContain("    <instance name='default' enabled='false'>\n");
    expect(r.stdout).toContain("<range min='1' max='65535'/>");
    expect(r.stdout).not.toContain("restarter");
    expect(r.stdout.endsWith("  </service>\n</service_bundle>\n")).toBe(true);
    const file = join(root, "xend.xml");
    expect(await svccfg(["export", "xend", ">", file])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(readFileSync(file, "utf8")).toBe(r.stdout);
  });

  it("shows and sets options with set", async () => {
    const r = await svccfg([], "set\nset -v\nset\n");
    expect(r.stdout).toBe("noverbose\nverbose\n");
  });
});
