/**
 * The note of a migration going out: `var/run/xend/relocation/out-<domid>.json` holds the name
 * and uuid of a domain renamed `migrating-<name>` for its migration. Written before the rename
 * and removed once the migration ended either way, so a daemon killed in between (before the
 * driver was given the name to put back: MigrateOutOptions.restore) leaves it for the next one,
 * which gives the guest its name back at start (daemonReady): a guest never keeps the
 * `migrating-` name of a migration no daemon is running.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "xvm/plugin";

export interface OutgoingNote {
  domid: number;
  name: string;
  uuid: string;
  /** `host:port` of the destination (what the admin must check when the outcome is unknown). */
  destination?: string;
  /** The guest was paused before its migration (so a paused guest at restore says nothing new). */
  paused?: boolean;
}

function dir(runDir: string): string {
  return join(runDir, "relocation");
}

function file(runDir: string, domid: number): string {
  return join(dir(runDir), `out-${domid}.json`);
}

export function noteOutgoing(runDir: string, note: OutgoingNote): void {
  mkdirSync(dir(runDir), { recursive: true, mode: 0o700 });
  writeFileAtomic(file(runDir, note.domid), `${JSON.stringify(note)}\n`);
}

export function forgetOutgoing(runDir: string, domid: number): void {
  rmSync(file(runDir, domid), { force: true });
}

/** Notes left by an earlier daemon (unreadable ones are dropped). */
export function takeOutgoingNotes(runDir: string): OutgoingNote[] {
  let names: string[];
  try {
    names = readdirSync(dir(runDir));
  } catch {
    return [];
  }
  const out: OutgoingNote[] = [];
  for (const n of names) {
    const m = /^out-(\d+)\.json$/.exec(n);
    if (!m) continue;
    const path = join(dir(runDir), n);
    try {
      const note = JSON.parse(readFileSync(path, "utf8")) as Partial<OutgoingNote>;
      if (note.domid === Number(m[1]) && typeof note.name === "string" && typeof note.uuid === "string") {
        out.push({
          domid: note.domid, name: note.name, uuid: note.uuid,
          ...(typeof note.destination === "string" ? { destination: note.destination } : {}),
          ...(note.paused === true ? { paused: true } : {}),
        });
      }
    } catch {
      // a torn or foreign file: nothing to restore from it
    }
    rmSync(path, { force: true });
  }
  return out;
}
