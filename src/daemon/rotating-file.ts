/**
 * An append-only log file rotated by size, as Python's RotatingFileHandler did for xend:
 * before a write that would reach `maxBytes`, `file.4` -> `file.5`, …, `file` -> `file.1`, and a
 * fresh `file` is opened. Every write goes straight to the file descriptor (no buffer), so a crash
 * never loses a line that was logged.
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export const MAX_BYTES = 1 << 20;
export const BACKUP_COUNT = 5;

export interface RotationOptions {
  maxBytes?: number;
  backups?: number;
}

export class RotatingFile {
  readonly maxBytes: number;
  readonly backups: number;
  private fd: number;
  private size: number;
  /** Set after a failed write so one broken disk does not flood stderr. */
  private failed = false;

  /** Opens (creating folders and the file) or throws the open error. */
  constructor(readonly path: string, options: RotationOptions = {}) {
    this.maxBytes = options.maxBytes ?? MAX_BYTES;
    this.backups = options.backups ?? BACKUP_COUNT;
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, "a", 0o644);
    this.size = fstatSync(this.fd).size;
  }

  write(text: string): void {
    const bytes = Buffer.from(text, "utf8");
    try {
      // Python's shouldRollover: tell() + len(msg) >= maxBytes, and never for an empty file.
      if (this.maxBytes > 0 && this.size > 0 && this.size + bytes.length >= this.maxBytes) this.rotate();
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
      this.size += bytes.length;
      this.failed = false;
    } catch (error) {
      if (!this.failed) process.stderr.write(`xend: cannot write ${this.path}: ${(error as Error).message}\n`);
      this.failed = true;
    }
  }

  private rotate(): void {
    closeSync(this.fd);
    try {
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
      this.fd = openSync(this.path, "a", 0o644);
      this.size = fstatSync(this.fd).size;
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
