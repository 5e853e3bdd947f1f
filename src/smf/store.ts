/**
 * The repository file: one JSON document with a checksum, replaced atomically (temp file, fsync,
 * rename, fsync of the folder) under an exclusive lock file, keeping the last good copies as
 * `repository.db.1` … `.3`. A reader never sees half a write; a crash (even kill -9 mid-write) leaves
 * the old or the new file; a damaged file is reported with its path and how to restore it, never reset.
 */
import {
  closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync, unlinkSync, writeSync,
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

function describeBackups(path: string): string {
  const lines: string[] = [];
  for (let i = 1; i <= BACKUPS; i++) {
    const b = `${path}.${i}`;
    if (!existsSync(b)) continue;
    try {
      const d = decode(readFileSync(b, "utf8"));
      lines.push(`  ${b} (generation ${d.generation}, ${statSync(b).mtime.toISOString()})`);
    } catch {
      lines.push(`  ${b} (also damaged)`);
    }
  }
  if (lines.length === 0) return ` No good copy is kept; move ${path} aside to start from the defaults.`;
  return ` Last good copies:\n${lines.join("\n")}\nRestore one with: cp ${path}.1 ${path}`;
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

  private rotateBackups(): void {
    for (let i = BACKUPS - 1; i >= 1; i--) {
      const from = `${this.path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
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
