/**
 * The credit scheduler's weight and cap for a QEMU guest (issue 15.3): the guest's QEMU process
 * goes into a cgroup of its own, `xvm-<root>/dom<domid>` under the CPU controller, and xend writes
 * the limits there — cgroup v2's `cpu.weight` and `cpu.max` where the unified hierarchy has the cpu
 * controller, else cgroup v1's `cpu.shares` and `cpu.cfs_quota_us` (hosts still on the hybrid
 * layout, such as this one). xend writes the files, not QEMU: its sandbox denies resource control.
 *
 * Weight 256 (Xen's default) is cgroup v2's default weight 100 and v1's default 1024 shares; a cap
 * in percent of one CPU is a quota of cap/100 periods of 100 ms (0 = no cap).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SchedParams } from "../driver.ts";

const PERIOD_US = 100_000;

export interface CpuController {
  kind: "v2" | "v1";
  /** The hierarchy's root for the cpu controller: /sys/fs/cgroup (v2) or /sys/fs/cgroup/cpu (v1). */
  root: string;
}

/** The cpu controller this host offers, if any (`base` is /sys/fs/cgroup but for tests). */
export function cpuController(base = process.env.XVM_CGROUP_ROOT ?? "/sys/fs/cgroup"): CpuController | undefined {
  try {
    const controllers = readFileSync(join(base, "cgroup.controllers"), "utf8").split(/\s+/);
    if (controllers.includes("cpu")) return { kind: "v2", root: base };
  } catch {
    // not the unified hierarchy at its root
  }
  if (existsSync(join(base, "cpu", "cpu.shares"))) return { kind: "v1", root: join(base, "cpu") };
  return undefined;
}

/** One folder per state root, so that two xends on a host (tests, several roots) never share one. */
function groupOf(ctl: CpuController, stateRoot: string, domid: number): { parent: string; leaf: string } {
  const parent = join(ctl.root, `xvm-${createHash("sha256").update(stateRoot).digest("hex").slice(0, 8)}`);
  return { parent, leaf: join(parent, `dom${domid}`) };
}

/** The values written for `params`, by file name (exported for the tests). */
export function schedFiles(kind: CpuController["kind"], params: SchedParams): Record<string, string> {
  if (kind === "v2") {
    return {
      "cpu.weight": String(Math.min(10_000, Math.max(1, Math.round((params.weight * 100) / 256)))),
      "cpu.max": params.cap > 0 ? `${Math.round((params.cap * PERIOD_US) / 100)} ${PERIOD_US}` : `max ${PERIOD_US}`,
    };
  }
  return {
    "cpu.shares": String(Math.min(262_144, Math.max(2, params.weight * 4))),
    "cpu.cfs_period_us": String(PERIOD_US),
    "cpu.cfs_quota_us": params.cap > 0 ? String(Math.round((params.cap * PERIOD_US) / 100)) : "-1",
  };
}

function enabled(control: string): boolean {
  try {
    return readFileSync(control, "utf8").split(/\s+/).includes("cpu");
  } catch {
    return false;
  }
}

/**
 * Puts QEMU (`pid`, every thread) into the guest's cgroup with `params` in force. Returns the
 * cgroup's folder, or undefined when the host has no cpu controller xend may use.
 */
export function applySched(stateRoot: string, domid: number, pid: number, params: SchedParams, ctl: CpuController | undefined): string | undefined {
  if (!ctl) return undefined;
  const { parent, leaf } = groupOf(ctl, stateRoot, domid);
  mkdirSync(leaf, { recursive: true });
  if (ctl.kind === "v2") {
    // A child's cpu files exist only once its parents hand the controller down.
    for (const dir of [ctl.root, parent]) {
      const control = join(dir, "cgroup.subtree_control");
      if (!enabled(control)) writeFileSync(control, "+cpu");
    }
  }
  for (const [file, value] of Object.entries(schedFiles(ctl.kind, params))) writeFileSync(join(leaf, file), value);
  writeFileSync(join(leaf, "cgroup.procs"), String(pid));
  return leaf;
}

/** Removes the guest's cgroup once its QEMU is gone (an empty cgroup folder is removed with rmdir). */
export function removeSched(stateRoot: string, domid: number, ctl: CpuController | undefined): void {
  if (!ctl) return;
  const { parent, leaf } = groupOf(ctl, stateRoot, domid);
  for (const dir of [leaf, parent]) {
    try {
      rmdirSync(dir);
    } catch {
      // gone already, still holding a process, or (the parent) other guests' cgroups
    }
  }
}

/** Removes every (empty) guest cgroup of a state root, and its folder: for tests that end QEMUs by pid. */
export function removeRootGroups(stateRoot: string, ctl: CpuController | undefined): void {
  if (!ctl) return;
  const { parent } = groupOf(ctl, stateRoot, 0);
  let names: string[] = [];
  try {
    names = readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return;
  }
  for (const name of names) {
    try {
      rmdirSync(join(parent, name));
    } catch {
      // a QEMU still in it
    }
  }
  try {
    rmdirSync(parent);
  } catch {
    // not empty
  }
}
