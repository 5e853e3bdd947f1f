/**
 * Migrations this daemon took part in, as the control API shows them (`GET
 * /plugins/relocation/migrations`): the ones in progress with their latest figures, and the last
 * finished ones with QEMU's query-migrate statistics or the error.
 */
import type { MigrationProgress, MigrationStats } from "xvm/plugin";

export interface MigrationRecord {
  id: number;
  direction: "out" | "in";
  /** The domain's name (without the `migrating-` prefix it carries meanwhile). */
  domain: string;
  /** Source domid (out) or the new domain's id (in, once created). */
  domid: number | null;
  /** `host:port` of the destination (out), the source's address and name (in). */
  peer: string;
  live: boolean;
  status: "setup" | "active" | "completed" | "failed";
  startedAt: string;
  endedAt?: string;
  progress?: MigrationProgress;
  stats?: MigrationStats;
  error?: string;
}

const KEEP_FINISHED = 32;

export class MigrationRecords {
  private nextId = 1;
  private readonly records: MigrationRecord[] = [];

  start(fields: Pick<MigrationRecord, "direction" | "domain" | "domid" | "peer" | "live">): MigrationRecord {
    const rec: MigrationRecord = { id: this.nextId++, ...fields, status: "setup", startedAt: new Date().toISOString() };
    this.records.push(rec);
    return rec;
  }

  progress(rec: MigrationRecord, progress: MigrationProgress): void {
    rec.status = "active";
    rec.progress = progress;
  }

  complete(rec: MigrationRecord, stats: MigrationStats): void {
    rec.status = "completed";
    rec.stats = stats;
    rec.endedAt = new Date().toISOString();
    this.prune();
  }

  fail(rec: MigrationRecord, error: string, stats?: MigrationStats): void {
    rec.status = "failed";
    rec.error = error;
    if (stats) rec.stats = stats;
    rec.endedAt = new Date().toISOString();
    this.prune();
  }

  list(): MigrationRecord[] {
    return this.records.map((r) => structuredClone(r));
  }

  get(id: number): MigrationRecord | undefined {
    const r = this.records.find((x) => x.id === id);
    return r && structuredClone(r);
  }

  private prune(): void {
    const finished = this.records.filter((r) => r.endedAt !== undefined);
    for (const old of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) {
      this.records.splice(this.records.indexOf(old), 1);
    }
  }
}
