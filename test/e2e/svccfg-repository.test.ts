/**
 * The repository under real processes: 50 concurrent writers, writers killed with SIGKILL while
 * they hold the lock, and damaged files, all through the compiled binary.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decode } from "../../src/smf/store.ts";
import { cleanupRoot, killPids, pidAlive, run, runAsync, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";

let root: string;
let repoFile: string;
const started: number[] = [];

beforeEach(() => {
  root = newRepository(tempRoot("xvm-svccfg-repo-"));
  repoFile = join(root, "etc/svc/repository.db");
  expect(run(["svccfg", "-s", "xend", "listpg", "config"], { root }).code).toBe(0);
});

afterEach(async () => {
  await cleanupRoot(root, started.splice(0));
});

const configOf = () => decode(readFileSync(repoFile, "utf8")).services["system/xvm/xend"]!.pgs.config!.props;

describe("concurrent writers", () => {
  it("applies all of 50 concurrent setprop processes on different properties; the file stays valid", async () => {
    const generation = decode(readFileSync(repoFile, "utf8")).generation;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => runAsync(["svccfg", "-s", "xend", "setprop", `config/p${i}`, "=", "integer:", String(i * 7)], { root })),
    );
    for (const r of results) expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    const data = decode(readFileSync(repoFile, "utf8"));
    expect(data.generation).toBe(generation + 50);
    const props = configOf();
    for (let i = 0; i < 50; i++) expect(props[`p${i}`]).toEqual({ type: "integer", values: [String(i * 7)] });
    expect(existsSync(join(root, "etc/svc/repository.db.lock"))).toBe(false);
  });
});

describe("kill -9 in the middle of writes", () => {
  it("leaves a repository that loads with the old or the new value, and a lock the next writer breaks", async () => {
    const lock = join(root, "etc/svc/repository.db.lock");
    const written = new Set(["0"]);
    let killedHoldingLock = 0;
    for (let round = 0; round < 5; round++) {
      // One writer committing setprops in a loop; it is killed while it holds the lock.
      const values = Array.from({ length: 400 }, (_, i) => String(round * 1000 + i));
      for (const v of values) written.add(v);
      const child = spawn(xvmBin(), ["svccfg", "-s", "xend"], { env: { ...process.env, XVM_ROOT: root }, stdio: ["pipe", "ignore", "ignore"] });
      started.push(child.pid!);
      child.stdin.end(values.map((v) => `setprop config/dom0-cpus = ${v}\n`).join(""));
      await waitFor(() => existsSync(lock) || !pidAlive(child.pid!), "the writer to hold the lock", 20_000, 1);
      // Not awaited until reaped: the dead writer may still be a zombie, which must not count as a holder.
      child.kill("SIGKILL");
      await killPids([child.pid!]);
      if (existsSync(lock)) killedHoldingLock++;
      const data = decode(readFileSync(repoFile, "utf8"));
      const value = data.services["system/xvm/xend"]!.pgs.config!.props["dom0-cpus"]!.values[0]!;
      expect(written.has(value)).toBe(true);
      // The compiled svccfg reads it, and writes again past a lock left by the dead writer.
      const list = run(["svccfg", "-s", "xend", "listprop", "config/dom0-cpus"], { root });
      expect(list).toEqual({ code: 0, stdout: `config/dom0-cpus  integer  ${value}\n`, stderr: "" });
      // A value no writer used, so this is a real commit (which also sweeps the dead writer's temporary).
      const fresh = String(100_000 + round);
      written.add(fresh);
      expect(run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", fresh], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(existsSync(lock)).toBe(false);
      // A temporary file the dead writer left is cleaned up by the next one.
      expect(readdirSync(join(root, "etc/svc")).filter((f) => f.includes(".tmp."))).toEqual([]);
    }
    // The kills did land inside the critical section (the dead writer's lock was still there).
    expect(killedHoldingLock).toBeGreaterThan(0);
  });
});

describe("a damaged repository file", () => {
  it("is reported with its path and restore advice, exit 1, and left as it was", () => {
    expect(run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "3"], { root }).code).toBe(0);
    const whole = readFileSync(repoFile, "utf8");
    for (const damaged of [whole.slice(0, Math.floor(whole.length * 0.6)), "garbage\x00\x01", ""]) {
      writeFileSync(repoFile, damaged);
      for (const args of [["svccfg", "-s", "xend", "listprop"], ["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "4"], ["svcprop", "-p", "config/dom0-cpus", "xend"]]) {
        const r = run(args, { root });
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        const prog = args[0];
        expect(r.stderr).toMatch(new RegExp(`^${prog}: repository ${repoFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is damaged \\(`));
        expect(r.stderr).toContain(`Last good copies:\n  ${repoFile}.1 (generation 1, `);
        expect(r.stderr).toContain(`Restore one with: cp ${repoFile}.1 ${repoFile}\n`);
        expect(readFileSync(repoFile, "utf8")).toBe(damaged);
      }
    }
    // Following the advice restores the last good state.
    writeFileSync(repoFile, readFileSync(`${repoFile}.1`));
    expect(run(["svccfg", "-s", "xend", "listprop", "config/dom0-cpus"], { root }).stdout).toBe("config/dom0-cpus  integer  0\n");
  });
});
