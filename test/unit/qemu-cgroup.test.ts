/**
 * The qemu driver's credit scheduler files (src/hypervisor/qemu/cgroup.ts) on fake cgroup trees:
 * cgroup v2 (cpu.weight, cpu.max, the controller handed down) and v1 (cpu.shares, the CFS quota),
 * one folder per state root and guest, removed with the guest.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applySched, cpuController, removeSched, schedFiles } from "../../src/hypervisor/qemu/cgroup.ts";

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(kind: "v1" | "v2" | "none"): string {
  const base = mkdtempSync(join(tmpdir(), "xvm-cgroup-"));
  made.push(base);
  if (kind === "v2") {
    writeFileSync(join(base, "cgroup.controllers"), "cpuset cpu io memory pids\n");
    writeFileSync(join(base, "cgroup.subtree_control"), "memory\n");
  }
  if (kind === "v1") {
    mkdirSync(join(base, "cpu"));
    writeFileSync(join(base, "cpu", "cpu.shares"), "1024\n");
  }
  return base;
}

describe("the qemu driver's cgroups", () => {
  it("maps Xen's weight and cap onto each version's files", () => {
    expect(schedFiles("v2", { weight: 256, cap: 0 })).toEqual({ "cpu.weight": "100", "cpu.max": "max 100000" });
    expect(schedFiles("v2", { weight: 512, cap: 50 })).toEqual({ "cpu.weight": "200", "cpu.max": "50000 100000" });
    expect(schedFiles("v2", { weight: 1, cap: 200 })).toEqual({ "cpu.weight": "1", "cpu.max": "200000 100000" });
    expect(schedFiles("v2", { weight: 65535, cap: 0 })["cpu.weight"]).toBe("10000");
    expect(schedFiles("v1", { weight: 256, cap: 0 })).toEqual({ "cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1" });
    expect(schedFiles("v1", { weight: 512, cap: 50 })).toEqual({ "cpu.shares": "2048", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000" });
  });

  it("finds the controller: v2 when the unified root has cpu, else v1, else none", () => {
    const v2 = tree("v2");
    const v1 = tree("v1");
    expect(cpuController(v2)).toEqual({ kind: "v2", root: v2 });
    expect(cpuController(v1)).toEqual({ kind: "v1", root: join(v1, "cpu") });
    expect(cpuController(tree("none"))).toBeUndefined();
  });

  it("v2: hands the controller down, writes the limits and the pid, removes the folder", () => {
    const base = tree("v2");
    const ctl = cpuController(base)!;
    const leaf = applySched("/var/xvm", 7, 4242, { weight: 512, cap: 50 }, ctl)!;
    expect(leaf).toMatch(new RegExp(`^${base}/xvm-[0-9a-f]{8}/dom7$`));
    expect(readFileSync(join(base, "cgroup.subtree_control"), "utf8")).toBe("+cpu");
    expect(readFileSync(join(leaf, "..", "cgroup.subtree_control"), "utf8")).toBe("+cpu");
    expect(readFileSync(join(leaf, "cpu.weight"), "utf8")).toBe("200");
    expect(readFileSync(join(leaf, "cpu.max"), "utf8")).toBe("50000 100000");
    expect(readFileSync(join(leaf, "cgroup.procs"), "utf8")).toBe("4242");
    // Another state root's guest 7 is another folder.
    expect(applySched("/other", 7, 1, { weight: 256, cap: 0 }, ctl)).not.toBe(leaf);
    for (const f of ["cpu.weight", "cpu.max", "cgroup.procs"]) rmSync(join(leaf, f)); // what the kernel does for a real cgroup
    removeSched("/var/xvm", 7, ctl);
    expect(existsSync(leaf)).toBe(false);
  });

  it("v1: writes shares and the CFS quota", () => {
    const base = tree("v1");
    const leaf = applySched("/var/xvm", 3, 99, { weight: 128, cap: 150 }, cpuController(base))!;
    expect(leaf.startsWith(join(base, "cpu", "xvm-"))).toBe(true);
    expect(["cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cgroup.procs"].map((f) => readFileSync(join(leaf, f), "utf8"))).toEqual(["512", "100000", "150000", "99"]);
  });

  it("does nothing without a controller", () => {
    expect(applySched("/var/xvm", 1, 1, { weight: 512, cap: 0 }, undefined)).toBeUndefined();
  });
});
