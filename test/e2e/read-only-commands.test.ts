/**
 * Commands that only read (svcs, svcprop, svccfg listprop/listpg/list/export/describe/listsnap,
 * xm list) never create a repository, a folder or a restarter (issue 17 item 3): on a root with no
 * repository they say there is none and exit 1 as SMF's commands do when they cannot reach one.
 * Through the compiled binary.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, processesOfRoot, run, tempRoot } from "../helpers/cli.ts";

let root: string;

beforeAll(() => {
  root = tempRoot("xvm-read-only-");
});

afterAll(async () => {
  await cleanupRoot(root);
});

const READERS: string[][] = [
  ["svcs"],
  ["svcs", "-a"],
  ["svcs", "-l", "xend"],
  ["svcs", "-xv"],
  ["svcs", "-p", "xend"],
  ["svcprop", "xend"],
  ["svcprop", "-p", "config/dom0-cpus", "xend"],
  ["svccfg", "-s", "xend", "listprop"],
  ["svccfg", "-s", "svc:/system/xvm/xend:default", "listpg"],
  ["svccfg", "-s", "xend", "describe", "config"],
  ["svccfg", "-s", "xend:default", "listsnap"],
  ["svccfg", "list"],
  ["svccfg", "export", "xend"],
];

describe("on a root with no repository", () => {
  it("svcs, svcprop and svccfg's reading commands say there is none, exit 1 and create nothing", () => {
    const below = join(root, "nothing-here");
    const repo = join(below, "etc/svc/repository.db");
    for (const args of READERS) {
      const r = run(args, { root: below });
      expect({ args, ...r }).toEqual({
        args,
        code: 1,
        stdout: "",
        stderr: `${args[0]}: Could not bind to repository server: no repository at ${repo} (\`svcadm enable xend\` or \`svccfg -s xend setprop\` creates one).\n`,
      });
      expect(existsSync(below), `${args.join(" ")} created the root`).toBe(false);
    }
    // Nothing was started for the root either (no restarter, no daemon).
    expect(processesOfRoot(below)).toEqual([]);
  });

  it("xm list says xend is not running and creates nothing", () => {
    const below = join(root, "no-xm");
    const r = run(["xm", "list"], { root: below });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`Error: xend is not running for root ${below} (no control socket at ${below}/var/run/xend/control.sock); try: svcadm enable xend\n`);
    expect(existsSync(below)).toBe(false);
  });

  it("an empty root folder stays empty", () => {
    for (const args of [["svcs", "-a"], ["svcprop", "xend"], ["svccfg", "-s", "xend", "listprop"], ["xm", "list"], ["xm", "info"]]) run(args, { root });
    expect(readdirSync(root)).toEqual([]);
  });

  it("a command that writes creates it; the readers then answer", () => {
    expect(run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "1"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(readdirSync(root)).toEqual(["etc"]);
    expect(run(["svccfg", "-s", "xend", "listprop", "config/dom0-cpus"], { root })).toEqual({ code: 0, stdout: "config/dom0-cpus  integer  1\n", stderr: "" });
    expect(run(["svcs", "-H", "-o", "state,fmri", "xend"], { root })).toEqual({ code: 0, stdout: "disabled       svc:/system/xvm/xend:default\n", stderr: "" });
    // Still only the repository: the readers added no folder beside it.
    expect(readdirSync(root)).toEqual(["etc"]);
    expect(readdirSync(join(root, "etc"))).toEqual(["svc"]);
  });
});

describe("the default root", () => {
  it("xvm --help says where the files go: / for root, the state folder for others, and the root in force", () => {
    const asRoot = process.getuid?.() === 0;
    const home = run(["--help"], { root, env: { XVM_ROOT: "", XDG_STATE_HOME: join(root, "xdg") } });
    expect(home.code).toBe(0);
    expect(home.stdout).toContain("\nState root\n\n  Every file lives under one root: --root DIR (before or right after the command), else $XVM_ROOT,\n  else / when run as root");
    expect(home.stdout).toContain(`  Here and now: ${asRoot ? "/" : join(root, "xdg", "xvm")}\n`);
    expect(run(["--help"], { root }).stdout).toContain(`  Here and now: ${root}\n`);
    expect(run(["--root", join(root, "other"), "--help"], { root }).stdout).toContain(`  Here and now: ${join(root, "other")}\n`);
  });
});
