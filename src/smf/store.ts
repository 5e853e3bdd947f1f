/**
 * The repository file: one JSON document with a checksum, replaced atomically (temp file, fsync,
 * rename, fsync of the folder) under an exclusive lock file, keeping the last good copies as
 * `repository.db.1` … `.3`. A reader never sees half a write; a crash (even kill -9 mid-write) leaves
 * the old or the new file; a damaged file is reported with its path and how to restore it, never reset.
 */
import {
  closeSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { XvmError } from "../errors.ts";
import { pidAlive } from "../runtime/process.ts";
import { sha256Hex } from "../runtime/sha256.ts";
import type { RepoData } from "./model.ts";

export const BACKUPS = 3;
const LOCK_TIMEOUT_MS = 30_000;

function checksum(body: string): string {
  return sha256Hex(body);
}

/** Serialised form: a header line with the checksum, then the data. */
export function encode(data: RepoData): string {
  const body = JSON.stringify(data);
  return `xvm-repository 1 sha256:${checksum(body)}\n${body}\n`;
}

export function decode(text: string): RepoData {
  const nl = text.indexOf("\n");
  if (nl < 0) throw new Error(text.length === 0 ? "empty file" : "no header line (truncated?)");
  const header = /^xvm-repository 1 sha256:([0-9a-f]{64})$/.exec(text.slice(0, nl));
  if (!header) throw new Error("not an xvm repository (bad header line)");
  const body = text.slice(nl + 1).replace(/\n$/, "");
  if (checksum(body) !== header[1]) throw new Error("checksum mismatch (truncated or overwritten)");
  const data = JSON.parse(body) as RepoData;
  if (data.format !== "xvm-repository" || data.version !== 1) throw new Error("unsupported repository version");
  return data;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** What a backup slot holds: a good copy (its data), something damaged, or nothing. */
type Slot = { kind: "good"; data: RepoData } | { kind: "damaged"; why: string } | { kind: "absent" };

function readSlot(path: string): Slot {
  try {
    if (!lstatSync(path).isFile()) return { kind: "damaged", why: "not a regular file" };
  } catch {
    return { kind: "absent" };
  }
  try {
    return { kind: "good", data: decode(readFileSync(path, "utf8")) };
  } catch (error) {
    return { kind: "damaged", why: (error as Error).message };
  }
}

function describeBackups(path: string): string {
  const lines: string[] = [];
  const good: string[] = [];
  const damaged: string[] = [];
  for (let i = 1; i <= BACKUPS; i++) {
    const b = `${path}.${i}`;
    const slot = readSlot(b);
    if (slot.kind === "good") {
      let when = "";
      try {
        when = `, ${statSync(b).mtime.toISOString()}`;
      } catch {
        // vanished meanwhile
      }
      good.push(b);
      lines.push(`  ${b} (generation ${slot.data.generation}${when})`);
    } else if (slot.kind === "damaged") damaged.push(`  ${b} (damaged: ${slot.why}; not a copy to restore)`);
  }
  if (good.length === 0) {
    return ` No good copy is kept; move ${path} aside to start from the defaults.${damaged.length ? `\n${damaged.join("\n")}` : ""}`;
  }
  return ` Last good copies:\n${[...lines, ...damaged].join("\n")}\nRestore one with: cp ${good[0]} ${path}`;
}

export class RepositoryFile {
  constructor(readonly path: string, readonly lockPath: string) {}

  exists(): boolean {
    return existsSync(this.path);
  }

  /** Reads and verifies the file; throws REPO_CORRUPT (with restore advice) if it is damaged. */
  read(): RepoData | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new XvmError("REPO_IO", { path: this.path, detail: (error as Error).message });
    }
    try {
      return decode(text);
    } catch (error) {
      throw new XvmError("REPO_CORRUPT", { path: this.path, detail: (error as Error).message, restore: describeBackups(this.path) });
    }
  }

  /** Runs `fn` holding the exclusive write lock. */
  withLock<T>(fn: () => T): T {
    const release = this.lock();
    try {
      return fn();
    } finally {
      release();
    }
  }

  /** Atomically replaces the file, keeping the previous one as the newest backup. */
  write(data: RepoData): void {
    try {
      this.writeFile(data);
    } catch (error) {
      if (error instanceof XvmError) throw error;
      throw new XvmError("REPO_IO", { path: this.path, detail: (error as Error).message });
    }
  }

  private writeFile(data: RepoData): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.path}.tmp.${process.pid}`;
    this.removeDeadTemporaries();
    const fd = openSync(tmp, "w", 0o644);
    try {
      writeSync(fd, encode(data));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (existsSync(this.path)) this.rotateBackups();
    renameSync(tmp, this.path);
    const dfd = openSync(dir, "r");
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  /** Temporary files of writers killed mid-write (called under the lock, so none is in use). */
  private removeDeadTemporaries(): void {
    const prefix = `${basename(this.path)}.tmp.`;
    for (const name of readdirSync(dirname(this.path))) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number.parseInt(name.slice(prefix.length), 10);
      if (pid === process.pid || !Number.isInteger(pid) || !pidAlive(pid)) {
        try {
          unlinkSync(join(dirname(this.path), name));
        } catch {
          // gone already
        }
      }
    }
  }

  /**
   * Shifts the good copies down one slot (dropping the oldest beyond BACKUPS) and links the current
   * file as `.1`. A damaged slot (garbage, a directory, a symlink: anything that is not a copy that
   * verifies) is moved aside as `<slot>.damaged` rather than shifted, so it never pushes a good copy
   * out, and never stops the write.
   */
  private rotateBackups(): void {
    const good: string[] = [];
    for (let i = 1; i <= BACKUPS; i++) {
      const b = `${this.path}.${i}`;
      const slot = readSlot(b);
      if (slot.kind === "good") good.push(b);
      else if (slot.kind === "damaged") {
        try {
          rmSync(`${b}.damaged`, { recursive: true, force: true });
          renameSync(b, `${b}.damaged`);
        } catch {
          rmSync(b, { recursive: true, force: true });
        }
      }
    }
    for (const extra of good.splice(BACKUPS - 1)) unlinkSync(extra);
    // Last first: each target is free (moved already, moved aside, or never there).
    for (let k = good.length - 1; k >= 0; k--) {
      const target = `${this.path}.${k + 2}`;
      if (good[k] !== target) renameSync(good[k]!, target);
    }
    // A hard link keeps the current (good) file as .1 at no copying cost; rename then swaps the name.
    try {
      linkSync(this.path, `${this.path}.1`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }

  private lock(): () => void {
    mkdirSync(dirname(this.lockPath), { recursive: true });
    const token = `${process.pid}`;
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    let wait = 1;
    for (;;) {
      try {
        const fd = openSync(this.lockPath, "wx", 0o644);
        writeSync(fd, token);
        closeSync(fd);
        return () => {
          try {
            if (readFileSync(this.lockPath, "utf8") === token) unlinkSync(this.lockPath);
          } catch {
            // already gone
          }
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new XvmError("REPO_IO", { path: this.lockPath, detail: (error as Error).message });
        }
      }
      this.breakStaleLock();
      if (Date.now() > deadline) {
        let holder = "?";
        try {
          holder = readFileSync(this.lockPath, "utf8");
        } catch {
          // vanished meanwhile
        }
        throw new XvmError("REPO_LOCKED", { path: this.path, pid: holder, ms: LOCK_TIMEOUT_MS });
      }
      sleepSync(wait);
      wait = Math.min(wait * 2, 16);
    }
  }

  /** A lock whose holder died (kill -9 mid-write) is removed; a live holder's never is. */
  private breakStaleLock(): void {
    let holder: string;
    try {
      holder = readFileSync(this.lockPath, "utf8");
    } catch {
      return;
    }
    const pid = Number.parseInt(holder, 10);
    if (holder === "") {
      // Written by a process that died between create and write; give it a moment before judging.
      try {
        if (Date.now() - statSync(this.lockPath).mtimeMs < 1000) return;
      } catch {
        return;
      }
    } else if (!Number.isInteger(pid) || pidAlive(pid)) return;
    try {
      // Re-read right before unlinking so a fresh lock taken meanwhile is not removed.
      if (readFileSync(this.lockPath, "utf8") === holder) unlinkSync(this.lockPath);
    } catch {
      // someone else broke it first
    }
  }
}
