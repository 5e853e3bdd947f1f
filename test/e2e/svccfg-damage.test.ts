/**
 * issue 13 §4, svccfg against damage, through the compiled binary: a damaged backup slot (a
 * directory where a copy should be, garbage) never makes svccfg print a stack trace nor lose the
 * other backups; the damaged repository's restore advice names a good copy.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";

const roots: string[] = [];
afterAll(async () => {
  for (const r of roots) await cleanupRoot(r);
});

const generation = (file: string) => (JSON.parse(readFileSync(file, "utf8").split("\n")[1]!) as { generation: number }).generation;

describe("a damaged backup slot", () => {
  it("is moved aside; setprop succeeds, prints no stack trace, and keeps the good copies", () => {
    const root = tempRoot("xvm-svccfg-damage-");
    roots.push(root);
    const setCpus = (n: number) => run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", String(n)], { root });
    for (const n of [1, 2, 3, 4]) expect(setCpus(n)).toEqual({ code: 0, stdout: "", stderr: "" });
    const db = join(root, "etc/svc/repository.db");
    const before = [1, 2, 3].map((i) => generation(`${db}.${i}`));
    rmSync(`${db}.2`);
    mkdirSync(`${db}.2`);
    expect(setCpus(5)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(statSync(`${db}.2.damaged`).isDirectory()).toBe(true);
    expect([1, 2, 3].map((i) => generation(`${db}.${i}`))).toEqual([before[0]! + 1, before[0], before[2]]);

    // The main file and the newest copy damaged: the advice skips the damaged copy.
    writeFileSync(db, "garbage\n");
    writeFileSync(`${db}.1`, "\u001b[2Jgarbage");
    const r = run(["svccfg", "-s", "xend", "listprop", "config/dom0-cpus"], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toContain(`Restore one with: cp ${db}.2 ${db}\n`);
    expect(r.stderr).toContain(`${db}.1 (damaged: no header line (truncated?); not a copy to restore)`);
  });
});
