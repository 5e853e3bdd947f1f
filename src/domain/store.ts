/**
 * Managed domain configs (`xm new`): one folder per domain under var/lib/xend/domains, named by
 * uuid as xend named them, holding `config.json` (xend wrote `config.sxp`; JSON keeps every field
 * of {@link DomainConfig} exactly). Files are replaced atomically: temp file, fsync, rename, fsync
 * of the folder, so a crash leaves the old config or the new one, never half of one.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Logger } from "../plugin/contract.ts";
import { isUuid } from "./config-spec.ts";
import type { DomainConfig } from "./types.ts";

export function writeFileAtomicSync(path: string, data: string, mode = 0o600): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // some file systems cannot fsync a directory; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
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
