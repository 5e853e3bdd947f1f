/**
 * What a restart of xend must not do again (issue 13 §3): the stop handling of a domain — its
 * dump, its rename-restart, its restart — runs at most once, and a domain the administrator
 * destroyed stays destroyed. One small file per domain under var/lib/xend/stopped/<domid>.json,
 * written (atomically) *before* the action starts and removed when the record goes:
 *
 *   - `handled`: the crash or shutdown was taken in hand (with the reason and the action). A new
 *     daemon re-attaching to the guest marks it handled instead of handling it again; a preserved
 *     crashed domain whose runner died meanwhile (and that the driver no longer lists) is listed
 *     again from this file, state `c`, until `xm destroy` removes it.
 *   - `destroying`: `xm destroy` (or an action that destroys) started; a new daemon that still
 *     finds the guest finishes the destroy instead of adopting it.
 *
 * At most once rather than at least once: a daemon killed in the middle of a crash's handling
 * leaves the domain preserved (listed, `c`) rather than dumped or restarted twice.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { GuestInfo } from "../hypervisor/driver.ts";
import type { Logger } from "../logger.ts";
import { writeFileAtomic } from "../runtime/atomic-write.ts";
import { type GuestMeta, isMeta } from "./records.ts";

export interface StoppedRecord {
  domid: number;
  state: "handled" | "destroying";
  /** crashed, shut down, rebooting… (Active.stopReason). */
  stopReason?: string;
  action?: string;
  meta: GuestMeta;
  /** The last the driver said of the guest: what `xm list` shows once its runner is gone. */
  info?: GuestInfo;
  at: number;
}

export class StoppedStore {
  constructor(readonly dir: string, private readonly log: Logger) {}

  private file(domid: number): string {
    return join(this.dir, `${domid}.json`);
  }

  write(record: StoppedRecord): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileAtomic(this.file(record.domid), `${JSON.stringify(record)}\n`, { mode: 0o600 });
    } catch (error) {
      this.log.error(`cannot record the stop of domain ${record.domid} (${(error as Error).message}); a restart of xend may handle it again`);
    }
  }

  remove(domid: number): void {
    rmSync(this.file(domid), { force: true });
  }

  load(): StoppedRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: StoppedRecord[] = [];
    for (const name of names) {
      if (!/^\d+\.json$/.test(name)) continue;
      try {
        const r = JSON.parse(readFileSync(join(this.dir, name), "utf8")) as StoppedRecord;
        if (Number.isInteger(r.domid) && (r.state === "handled" || r.state === "destroying") && isMeta(r.meta)) out.push(r);
        else this.log.warn(`ignoring ${join(this.dir, name)}: not a stop record`);
      } catch (error) {
        this.log.warn(`ignoring ${join(this.dir, name)}: ${(error as Error).message}`);
      }
    }
    return out;
  }
}
