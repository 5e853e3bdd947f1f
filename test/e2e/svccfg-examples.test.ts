/**
 * The two EXAMPLES of xend(1M), verbatim, against the compiled binary: Example 1 on the command
 * line, Example 2 through stdin and through a real terminal (a pty), with its backslash
 * continuation and `svc:system/xvm/xend` without the slash.
 */
import { spawnSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot, xvmBin } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";
import { onPty } from "../helpers/pty.ts";

let root: string;
const extraPids: number[] = [];

beforeEach(() => {
  root = newRepository(tempRoot("xvm-svccfg-ex-"));
});

afterEach(async () => {
  await cleanupRoot(root, extraPids.splice(0));
});

const xvm = (args: string[], input?: string) => run(args, { root, ...(input === undefined ? {} : { input }) });

/** svcadm belongs to the restarter's issue: use it verbatim once it exists, else svccfg's refresh. */
function svcadmAvailable(): boolean {
  return run(["svcadm", "--help"], { root }).code === 0;
}

function refresh(fmri: string): void {
  const r = svcadmAvailable() ? xvm(["svcadm", "refresh", fmri]) : xvm(["svccfg", "-s", fmri, "refresh"]);
  expect(r).toMatchObject({ code: 0, stderr: "" });
}

describe("Example 1: modifying an existing property", () => {
  it("lists, sets config/dom0-cpus = 1, refreshes; svcprop then reads 1", () => {
    const list = xvm(["svccfg", "-s", "svc:/system/xvm/xend:default", "listprop"]);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe("");
    const width = list.stdout.split("\n").find((l) => l.startsWith("config "))!.length - "  application".length;
    const line = (name: string, type: string, value: string) => `${name.padEnd(width)}  ${type.padEnd(7)}  ${value}\n`;
    // Every property of the seed's manual, with its default.
    for (const expected of [
      line("config/default-nic", "astring", ""),
      line("config/dom0-cpus", "integer", "0"),
      line("config/dom0-min-mem", "integer", "196"),
      line("config/enable-dump", "boolean", "true"),
      line("config/xend-relocation-address", "astring", "127.0.0.1"),
      line("config/xend-relocation-hosts-allow", "astring", "^localhost$"),
      line("config/xend-relocation-server", "boolean", "true"),
      line("config/xend-unix-server", "boolean", "true"),
    ]) {
      expect(list.stdout).toContain(expected);
    }

    expect(xvm(["svccfg", "-s", "svc:/system/xvm/xend:default", "setprop", "config/dom0-cpus", "=", "1"])).toEqual({ code: 0, stdout: "", stderr: "" });
    // Editing value changed at once; the running snapshot only after the refresh.
    expect(xvm(["svccfg", "-s", "svc:/system/xvm/xend:default", "listprop", "config/dom0-cpus"]).stdout).toBe("config/dom0-cpus  integer  1\n");
    expect(xvm(["svcprop", "-p", "config/dom0-cpus", "xend"]).stdout).toBe("0\n");
    refresh("svc:/system/xvm/xend:default");
    expect(xvm(["svcprop", "-p", "config/dom0-cpus", "xend"])).toEqual({ code: 0, stdout: "1\n", stderr: "" });
  });
});

const EXAMPLE2_INPUT =
  'setprop config/xend-relocation-address = ""\n' +
  "setprop config/xend-relocation-hosts-allow = \\\n" +
  '"^flax$ ^localhost$"\n' +
  "end\n";

function expectExample2Applied(): void {
  // Set at the service level, seen composed at the instance.
  const svc = xvm(["svccfg", "-s", "svc:system/xvm/xend", "listprop", "config/xend-relocation-[ah]*"]);
  expect(svc.stdout).toBe(
    "config/xend-relocation-address      astring  \n" +
      'config/xend-relocation-hosts-allow  astring  "^flax$ ^localhost$"\n',
  );
  const inst = xvm(["svccfg", "-s", "svc:/system/xvm/xend:default", "listprop", "config/xend-relocation-[ah]*"]);
  expect(inst.stdout).toBe(svc.stdout);
  expect(xvm(["svcprop", "-c", "-p", "config/xend-relocation-hosts-allow", "-p", "config/xend-relocation-address", "xend"]).stdout).toBe(
    '\\^flax$\\ \\^localhost$\n""\n',
  );
}

describe("Example 2: enabling live migration", () => {
  it("works with the session's commands on stdin", () => {
    expect(xvm(["svccfg", "-s", "svc:system/xvm/xend"], EXAMPLE2_INPUT)).toEqual({ code: 0, stdout: "", stderr: "" });
    expectExample2Applied();
    if (svcadmAvailable()) {
      expect(xvm(["svcadm", "refresh", "svc:system/xvm/xend:default"]).code).toBe(0);
      expect(xvm(["svcadm", "restart", "svc:system/xvm/xend:default"]).code).toBe(0);
    } else {
      refresh("svc:system/xvm/xend:default");
    }
    expect(xvm(["svcprop", "-p", "config/xend-relocation-hosts-allow", "svc:system/xvm/xend:default"]).stdout).toBe("\\^flax$\\ \\^localhost$\n");
  });

  it("works typed at the interactive prompt on a terminal", () => {
    const python = spawnSync("python3", ["--version"]);
    expect(python.status, "python3 drives the pty for this test").toBe(0);
    const steps: Array<[string, string]> = [
      ["svc:/system/xvm/xend> ", 'setprop config/xend-relocation-address = ""\n'],
      ["svc:/system/xvm/xend> ", "setprop config/xend-relocation-hosts-allow = \\\n"],
      ["> ", '"^flax$ ^localhost$"\n'],
      ["svc:/system/xvm/xend> ", "listprop config/xend-relocation-hosts-allow\n"],
      ["svc:/system/xvm/xend> ", "setprop config/nope = 1\n"],
      ["svc:/system/xvm/xend> ", "end\n"],
    ];
    const r = onPty([xvmBin(), "svccfg", "-s", "svc:system/xvm/xend"], steps, { XVM_ROOT: root });
    expect(r.error).toBeNull();
    expect(r.status).toBe(0);
    const screen = r.transcript.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
    expect(screen).toContain('svc:/system/xvm/xend> setprop config/xend-relocation-address = ""\n');
    expect(screen).toContain("svc:/system/xvm/xend> setprop config/xend-relocation-hosts-allow = \\\n> \"^flax$ ^localhost$\"\n");
    // Interactive messages go to the terminal without the "svccfg:" prefix, and the session goes on.
    expect(screen).toContain('config/xend-relocation-hosts-allow  astring  "^flax$ ^localhost$"\n');
    expect(screen).toContain("setprop config/nope = 1\nType required for new properties.\nsvc:/system/xvm/xend> end\n");
    expectExample2Applied();
  });
});

describe("the interactive prompt", () => {
  it("selects through levels, continues open lists, shows usage on syntax errors, drops a line on ^C, ends on ^D", () => {
    const steps: Array<[string, string]> = [
      ["svc:> ", "select xend\n"],
      ["svc:/system/xvm/xend> ", "select default\n"],
      ["svc:/system/xvm/xend:default> ", "setprop config/dom0-cpus = (\n"],
      ["> ", "3 )\n"],
      ["svc:/system/xvm/xend:default> ", "listprop config/dom0-cpus\n"],
      ["svc:/system/xvm/xend:default> ", "selectsnap running\n"],
      ["[running]svc:/system/xvm/xend:default> ", "selectsnap\n"],
      ["svc:/system/xvm/xend:default> ", "setprop config/dom0-cpus 4\n"],
      ["svc:/system/xvm/xend:default> ", "setprop config/dom0-cpus = 5\x03"],
      ["svc:/system/xvm/xend:default> ", "listprop config/dom0-cpus\n"],
      ["svc:/system/xvm/xend:default> ", "\x04"],
    ];
    const r = onPty([xvmBin(), "svccfg"], steps, { XVM_ROOT: root });
    expect(r.error).toBeNull();
    expect(r.status).toBe(0);
    const screen = r.transcript.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").replace(/\r/g, "");
    expect(screen).toContain("setprop config/dom0-cpus = (\n> 3 )\n");
    expect(screen.split("config/dom0-cpus  integer  3\n").length).toBe(3);
    expect(screen).toContain("setprop config/dom0-cpus 4\nUsage: \tsetprop pg/name = [type:] value\n");
    // ^C abandoned the typed setprop: the value is still 3.
    expect(run(["svcprop", "-c", "-p", "config/dom0-cpus", "xend"], { root }).stdout).toBe("3\n");
  });
});

describe("the multi-call link", () => {
  it("answers as svccfg and svcprop when called by those names", () => {
    const a = run(["-s", "xend", "listprop", "config/dom0*"], { root, argv0: "svccfg" });
    const b = xvm(["svccfg", "-s", "xend", "listprop", "config/dom0*"]);
    expect(a).toEqual(b);
    expect(a.stdout).toBe("config/dom0-cpus     integer  0\nconfig/dom0-min-mem  integer  196\n");
    expect(run(["-p", "config/dom0-min-mem", "xend"], { root, argv0: "svcprop" }).stdout).toBe("196\n");
  });

  it("prints clipanion usage with examples for --help and -h", () => {
    for (const flag of ["--help", "-h"]) {
      const r = xvm(["svccfg", flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("svccfg -s svc:/system/xvm/xend:default setprop config/dom0-cpus = 1");
      const p = xvm(["svcprop", flag]);
      expect(p.code).toBe(0);
      expect(p.stdout).toContain("svcprop -p config/dom0-cpus xend");
    }
  });
});
