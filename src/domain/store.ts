/**
 * Managed domain configs (`xm new`): one folder per domain under var/lib/xend/domains, named by
 * uuid as xend named them, holding `config.json` (xend wrote `config.sxp`; JSON keeps every field
 * of {@link DomainConfig} exactly). Files are replaced atomically: temp file, fsync, rename, fsync
 * of the folder, so a crash leaves the old config or the new one, never half of one.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../logger.ts";
import { fsyncDir, writeFileAtomic } from "../runtime/atomic-write.ts";
import { isUuid } from "./config-spec.ts";
import type { DomainConfig } from "./types.ts";

/** The one atomic write (src/runtime/atomic-write.ts), under the name the domain code used. */
export function writeFileAtomicSync(path: string, data: string, mode = 0o600): void {
  writeFileAtomic(path, data, { mode });
}

const CONFIG_FILE = "config.json";

export class ManagedStore {
  constructor(readonly dir: string, private readonly log: Logger) {}

  private file(uuid: string): string {
    return join(this.dir, uuid, CONFIG_FILE);
  }

  /** Every stored config; unreadable ones are logged and skipped (never deleted). */
  load(): (DomainConfig & { uuid: string })[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: (DomainConfig & { uuid: string })[] = [];
    for (const name of names.sort()) {
      if (!isUuid(name)) continue;
      try {
        const config = JSON.parse(readFileSync(this.file(name), "utf8")) as DomainConfig & { uuid: string };
        if (config.uuid !== name || typeof config.name !== "string") throw new Error("uuid or name missing or wrong");
        out.push(config);
      } catch (error) {
        this.log.warn(`ignoring managed domain config ${this.file(name)}: ${(error as Error).message}`);
      }
    }
    return out;
  }

  save(config: DomainConfig & { uuid: string }): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    writeFileAtomicSync(this.file(config.uuid), `${JSON.stringify(config, null, 2)}\n`);
  }

  remove(uuid: string): void {
    rmSync(join(this.dir, uuid), { recursive: true, force: true });
    fsyncDir(this.dir);
  }
}
