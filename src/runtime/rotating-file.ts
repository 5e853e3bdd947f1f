/**
 * An append-only log file rotated by size, as Python's RotatingFileHandler did for xend:
 * before a write that would reach `maxBytes`, `file.4` -> `file.5`, …, `file` -> `file.1`, and a
 * fresh `file` is opened. Every write goes straight to the file descriptor (no buffer), so a crash
 * never loses a line that was logged.
 *
 * The one writer of every log xvm keeps (issue 13 §4): xend.log and xend-debug.log, the service
 * log (the restarter's lines and the daemon's output), the restarter's svc.startd.log and each
 * guest runner's log. Several processes may append to one file (the restarter and xend share the
 * service log): each write first checks that the path still names the file it holds open and
 * reopens it when another writer rotated it, and the size that decides a rollover is the file's,
 * not this writer's count.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export const MAX_BYTES = 1 << 20;
export const BACKUP_COUNT = 5;

export interface RotationOptions {
  maxBytes?: number;
  backups?: number;
  /** File mode on creation (default 0644). */
  mode?: number;
  /** Prefix of the one line reported on stderr when writes start failing (default "xend"). */
  who?: string;
}

export class RotatingFile {
  readonly maxBytes: number;
  readonly backups: number;
  private readonly mode: number;
  private readonly who: string;
  private fd: number;
  private ino = 0;
  private dev = 0;
  /** Set after a failed write so one broken disk does not flood stderr. */
  private failed = false;

  /** Opens (creating folders and the file) or throws the open error. */
  constructor(readonly path: string, options: RotationOptions = {}) {
    this.maxBytes = options.maxBytes ?? MAX_BYTES;
    this.backups = options.backups ?? BACKUP_COUNT;
    this.mode = options.mode ?? 0o644;
    this.who = options.who ?? "xend";
    mkdirSync(dirname(path), { recursive: true });
    this.fd = this.open();
  }

  private open(): number {
    const fd = openSync(this.path, "a", this.mode);
    const st = fstatSync(fd);
    this.ino = st.ino;
    this.dev = st.dev;
    return fd;
  }

  private reopen(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = this.open();
  }

  /** Whether the path still names the file this writer holds (another writer may have rotated it). */
  private current(): boolean {
    try {
      const st = statSync(this.path);
      return st.ino === this.ino && st.dev === this.dev;
    } catch {
      return false;
    }
  }

  write(text: string): void {
    const bytes = Buffer.from(text, "utf8");
    try {
      if (!this.current()) this.reopen();
      const size = fstatSync(this.fd).size;
      // Python's shouldRollover: tell() + len(msg) >= maxBytes, and never for an empty file.
      if (this.maxBytes > 0 && size > 0 && size + bytes.length >= this.maxBytes) this.rotate();
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
      this.failed = false;
    } catch (error) {
      if (!this.failed) process.stderr.write(`${this.who}: cannot write ${this.path}: ${(error as Error).message}\n`);
      this.failed = true;
    }
  }

  private rotate(): void {
    try {
      // Another writer rotated between our check and now: its fresh file is ours too.
      if (!this.current()) return;
      if (this.backups > 0) {
        const last = `${this.path}.${this.backups}`;
        if (existsSync(last)) unlinkSync(last);
        for (let i = this.backups - 1; i >= 1; i--) {
          const from = `${this.path}.${i}`;
          if (existsSync(from)) renameSync(from, `${this.path}.${i + 1}`);
        }
        renameSync(this.path, `${this.path}.1`);
      } else {
        unlinkSync(this.path);
      }
    } finally {
      // Whatever happened to the renames, keep a descriptor to write to.
      this.reopen();
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** One writer per path and process, for the logs written line by line from several places. */
const shared = new Map<string, RotatingFile>();

/** Appends `text` to the rotating log at `path`; false if it cannot be opened. */
export function appendRotating(path: string, text: string, options: RotationOptions = {}): boolean {
  let file = shared.get(path);
  if (!file) {
    try {
      file = new RotatingFile(path, options);
    } catch {
      return false;
    }
    shared.set(path, file);
  }
  file.write(text);
  return true;
}
