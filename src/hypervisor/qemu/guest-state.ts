/**
 * What the qemu driver keeps about a guest in its run directory (`guest.json`, written atomically):
 * enough for a new xend to re-attach after a restart or kill -9, since QEMU itself does not know
 * the domain id, the memory target or the manager's meta, and events sent while no client was
 * connected to QMP are lost.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../runtime/atomic-write.ts";
import type { SchedParams, ShutdownReason } from "../driver.ts";
import { GUEST_STATE, type Tap } from "./command-line.ts";

export interface GuestState {
  domid: number;
  name: string;
  uuid: string;
  /** RAM QEMU was started with (-m), KiB: the ceiling of every memory change. */
  bootKiB: number;
  maxMemKiB: number;
  targetKiB: number;
  maxVcpus: number;
  startTime: number;
  pid: number;
  meta: Record<string, unknown>;
  taps: Tap[];
  /** QEMU's arguments (an incoming migration starts the same QEMU again with `-incoming defer`). */
  argv: string[];
  /**
   * Waiting for an incoming migration: if its QEMU dies or xend restarts meanwhile, the guest
   * never existed here (it still runs on the source), so it is dropped without a crash report.
   */
  incoming?: boolean;
  /** Set when xend saw the guest stop (the SHUTDOWN event), so a later xend knows why. */
  stopped?: ShutdownReason;
  /** Credit scheduler weight and cap (./cgroup.ts); absent = Xen's defaults. */
  sched?: SchedParams;
}

export function readGuestState(dir: string): GuestState | undefined {
  try {
    const state = JSON.parse(readFileSync(join(dir, GUEST_STATE), "utf8")) as GuestState;
    return typeof state.domid === "number" && typeof state.name === "string" ? state : undefined;
  } catch {
    return undefined;
  }
}

export function writeGuestState(dir: string, state: GuestState): void {
  const path = join(dir, GUEST_STATE);
  writeFileAtomic(path, JSON.stringify(state, null, 2));
}
