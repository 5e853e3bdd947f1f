/**
 * Shell completion and manual pages generated from the command definitions (issue 17 item 5):
 * the bash script sourced by a real bash completes commands, subcommands, options and FMRIs, for
 * `xvm` and through a link; the zsh and fish scripts call the same helper; `xvm man` pages and the
 * ones the build wrote into dist/man render with man(1)/groff without a warning.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot, xvmBin } from "../helpers/cli.ts";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
let root: string;

beforeAll(() => {
  root = tempRoot("xvm-completion-");
  // A repository to complete FMRIs and property names from.
  expect(run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "1"], { root }).code).toBe(0);
});
afterAll(async () => {
  await cleanupRoot(root);
});

/** What bash's completion offers for `line` (cursor at its end), with the script loaded. */
function bashComplete(line: string, at = root): string[] {
  const script = run(["completion", "bash"], { root: at });
  expect(script.code).toBe(0);
  const r = spawnSync("bash", ["-c", `source /dev/stdin <<'XVM_EOF'\n${script.stdout}XVM_EOF\nCOMP_LINE="$1"; COMP_POINT=\${#COMP_LINE}; _xvm_complete; printf '%s\\n' "\${COMPREPLY[@]}"`, "bash", line], {
    env: { ...process.env, XVM_ROOT: at },
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.stderr).toBe("");
  return r.stdout.split("\n").filter((l) => l !== "");
}

describe("xvm completion", () => {
  it("bash: commands, subcommands and options from the definitions; no internal command", () => {
    const top = bashComplete("xvm ");
    expect(top).toEqual(expect.arrayContaining(["svcs", "svccfg", "xm", "xend", "completion", "man", "help"]));
    expect(top.filter((w) => w.startsWith("_"))).toEqual([]);
    expect(bashComplete("xvm xm li")).toEqual(["list"]);
    expect(bashComplete("xvm xend st")).toEqual(["status", "stop"]);
    expect(bashComplete("xvm xm migrate --p")).toEqual(["--port"]);
  });

  it("bash: FMRIs for svcs and svcadm, property names for svccfg, through a link name too", () => {
    expect(bashComplete("xvm svcs -l xe")).toEqual(["xend", "xend:default"]);
    // bash replaces what follows the last ':' only, so the candidates are cut there.
    expect(bashComplete("svcadm enable svc:/system/xvm/xe")).toEqual(["/system/xvm/xend", "/system/xvm/xend:default"]);
    expect(bashComplete("xvm svccfg -s xend setprop config/dom0-c")).toEqual(["config/dom0-cpus"]);
    expect(bashComplete("xvm svccfg -s xend li")).toEqual(["list", "listnotify", "listpg", "listprop", "listsnap"]);
  });

  it("zsh and fish scripts ask the same helper for every name the binary answers to", () => {
    for (const shell of ["zsh", "fish"]) {
      const r = run(["completion", shell], { root });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`'${xvmBin()}' __complete --`);
      for (const name of ["xvm", "xm", "svcs", "svccfg", "svcadm", "svcprop"]) expect(r.stdout).toContain(` ${name}`);
    }
    expect(run(["completion", "tcsh"], { root })).toMatchObject({ code: 2, stdout: "" });
  });
});

describe("a plugin's commands", () => {
  it("are completed, listed by --help and documented by xvm man like the built-in ones", async () => {
    // The hello example plugin installed where xend (and xm) look for plugins; no daemon needed.
    const at = tempRoot("xvm-completion-plugin-");
    try {
      const dir = join(at, "usr/lib/xvm/plugins/hello");
      cpSync(join(repoRoot, "examples/plugins/hello"), dir, { recursive: true });
      rmSync(join(dir, "hello.test.ts"), { force: true });
      expect(bashComplete("xvm xm hel", at)).toEqual(["hello"]);
      expect(run(["--help"], { root: at }).stdout).toContain("xvm xm hello <Domain>");
      const page = run(["man", "xm"], { root: at }).stdout;
      expect(page).toContain("\\fBxvm xm hello\\fR <Domain>");
      expect(page).toContain("greet a domain");
    } finally {
      await cleanupRoot(at);
    }
  });
});

describe("xvm man", () => {
  it("prints a page per command that man(1) renders: xm with every subcommand, its options and placeholders", () => {
    const page = run(["man", "xm"], { root });
    expect(page.code).toBe(0);
    expect(page.stdout.startsWith('.TH XM 1 "" "xvm ')).toBe(true);
    const r = spawnSync("man", ["-l", "-"], { input: page.stdout, encoding: "utf8", env: { ...process.env, MANPAGER: "cat", PAGER: "cat", MANWIDTH: "100" } });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("xm - control, list and manipulate Xen guest instances");
    expect(r.stdout).toMatch(/xvm xm list \[-l,--long\] \[--state STATE\]/);
    expect(r.stdout).toMatch(/xvm xm migrate \[-l,--live\] \[-p,--port PORT\]/);
    expect(run(["man", "nosuch"], { root }).code).toBe(2);
  });

  it("the build wrote every page into dist/man, and groff reads each without a warning", () => {
    const dir = join(repoRoot, "dist/man");
    expect(existsSync(dir)).toBe(true);
    const pages = readdirSync(dir).sort();
    expect(pages).toEqual(expect.arrayContaining(["xvm.1", "xm.1", "svcs.1", "svccfg.1", "svcadm.1", "svcprop.1", "xend.1", "xvm-completion.1"]));
    for (const p of pages) {
      const r = spawnSync("groff", ["-man", "-Tutf8", "-ww", "-z", join(dir, p)], { encoding: "utf8" });
      expect({ page: p, status: r.status, warnings: r.stderr }).toEqual({ page: p, status: 0, warnings: "" });
    }
  });
});
