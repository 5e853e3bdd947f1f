/**
 * A plugin that adds a command, through the compiled binary: the hello example
 * (examples/plugins/hello) installed as an administrator installs it, `xm hello <Domain>` run
 * against the daemon, listed by `xm help`, documented by `xm hello --help`, and refused as
 * xm refuses (unknown domain, missing argument). Built-in plugins' commands (migrate,
 * dump-core) go through the same path.
 */
import { cpSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { startXend, type XendProcess } from "../helpers/xend.ts";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const started: XendProcess[] = [];
const roots: string[] = [];
afterEach(async () => {
  const pids = started.splice(0).map((x) => x.pid);
  for (const root of roots.splice(0)) await cleanupRoot(root, pids);
});

describe("a plugin's xm command in the compiled binary", () => {
  it("xm hello <Domain> greets a domain; xm help lists it; errors read as xm's", async () => {
    const root = tempRoot("xvm-hello-");
    roots.push(root);
    const dir = join(root, "usr/lib/xvm/plugins/hello");
    cpSync(join(repoRoot, "examples/plugins/hello"), dir, { recursive: true });
    rmSync(join(dir, "hello.test.ts"), { force: true });
    prepareRoot(root, { relocation: false });
    const x = await startXend(root);
    started.push(x);
    // The daemon declared config/hello-greeting when it loaded the plugin; set it as an administrator.
    prepareRoot(root, { props: { "hello-greeting": "Howdy" } });
    await x.api("POST", "/refresh");

    const cfg = join(root, "web1.cfg");
    writeFileSync(cfg, 'name = "web1"\nkernel = "sim:idle"\nmemory = 48\n');
    expect(run(["xm", "create", cfg], { root })).toMatchObject({ code: 0 });
    const domid = run(["xm", "domid", "web1"], { root }).stdout.trim();

    expect(run(["xm", "hello", "web1"], { root })).toEqual(expect.objectContaining({
      code: 0, stdout: `Howdy, web1! (domain ${domid}, 48 MiB, running)\n`, stderr: "",
    }));

    const help = run(["xm", "help"], { root });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/\n hello {16}Greet a domain\.\n/);
    expect(help.stdout).toMatch(/\n migrate {14}Migrate a domain to another machine\.\n/);

    const usage = run(["xm", "hello", "--help"], { root });
    expect(usage.code).toBe(0);
    expect(usage.stdout).toContain("Greet a domain");
    expect(usage.stdout).toContain("xm hello <Domain>");

    expect(run(["xm", "hello", "nosuch"], { root })).toEqual(expect.objectContaining({
      code: 1, stdout: "", stderr: "Error: Domain 'nosuch' does not exist.\n",
    }));
    const missing = run(["xm", "hello"], { root });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("Error:");
  });
});
