/**
 * The sources run unchanged on Deno and Bun: `svccfg -s xend listprop` from bin/xvm.ts under each
 * gives the same bytes as the compiled binary (on one state root, so the data is the same).
 */
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
let root: string;
let compiled: { code: number; stdout: string; stderr: string };

beforeAll(() => {
  root = newRepository(tempRoot("xvm-svccfg-rt-"));
  compiled = run(["svccfg", "-s", "xend", "listprop"], { root });
});

afterAll(async () => {
  await cleanupRoot(root);
});

function fromSources(runtime: string, prefix: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(join(repoRoot, "node_modules/.bin", runtime), [...prefix, "bin/xvm.ts", "svccfg", "-s", "xend", "listprop"], {
    cwd: repoRoot,
    env: { ...process.env, XVM_ROOT: root, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("svccfg from the sources", () => {
  it("the compiled binary lists the service's groups", () => {
    expect(compiled.code).toBe(0);
    expect(compiled.stderr).toBe("");
    expect(compiled.stdout).toContain("config/dom0-min-mem");
    expect(compiled.stdout).toMatch(/^start +method\n/);
  });

  it("prints the same under Bun", () => {
    expect(fromSources("bun", [])).toEqual({ code: 0, stdout: compiled.stdout, stderr: "" });
  });

  it("prints the same under Deno", () => {
    expect(fromSources("deno", ["run", "-A"])).toEqual({ code: 0, stdout: compiled.stdout, stderr: "" });
  });
});
