/**
 * The guest's console history. QEMU appends everything the guest prints to `console.log` whether
 * or not xend is connected (the chardev's logfile), so history survives xend restarts. The driver
 * bounds it: past {@link ROTATE_BYTES} the newest {@link KEEP_BYTES} go to `console.log.0` and
 * the log is truncated (QEMU writes with O_APPEND, so it continues at the new end).
 */
import { closeSync, openSync, readSync, renameSync, statSync, truncateSync, writeFileSync } from "node:fs";

export const ROTATE_BYTES = 1024 * 1024;
export const KEEP_BYTES = 64 * 1024;

function tail(path: string, max: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(path).size;
    const length = Math.min(size, max);
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, size - length);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The newest `max` bytes of the console (rotated part first). */
export function readConsole(log: string, max = KEEP_BYTES): string {
  const current = tail(log, max);
  const older = current.length < max ? tail(`${log}.0`, max - current.length) : Buffer.alloc(0);
  return Buffer.concat([older, current]).toString("utf8");
}

/** Rotates the log once it passed ROTATE_BYTES. */
export function boundConsole(log: string): void {
  let size: number;
  try {
    size = statSync(log).size;
  } catch {
    return;
  }
  if (size < ROTATE_BYTES) return;
  const keep = tail(log, KEEP_BYTES);
  writeFileSync(`${log}.0.tmp`, keep, { mode: 0o600 });
  renameSync(`${log}.0.tmp`, `${log}.0`);
  truncateSync(log, 0);
}
