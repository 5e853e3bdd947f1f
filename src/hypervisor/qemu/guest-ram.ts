/**
 * A QEMU guest's RAM read straight from its memfd (`-object memory-backend-memfd,share=on`, found
 * through /proc/PID/fd by procfs.ts): pages for `readPages`, and the digest the relocation tests
 * compare at both ends of a migration (`memoryDigest`; the guest is stopped by the caller).
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { PAGE_SIZE, type MemoryDigest } from "../driver.ts";

export function readRamPages(ramPath: string, pfns: readonly number[]): Uint8Array {
  const fd = openSync(ramPath, "r");
  try {
    const out = new Uint8Array(pfns.length * PAGE_SIZE);
    pfns.forEach((pfn, i) => readSync(fd, out, i * PAGE_SIZE, PAGE_SIZE, pfn * PAGE_SIZE));
    return out;
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 of the first `ramKiB` of RAM, and of all of it but page 0 (`sha256Rest`). */
export function digestRam(ramPath: string, ramKiB: number): MemoryDigest {
  const fd = openSync(ramPath, "r");
  const all = createHash("sha256");
  const rest = createHash("sha256");
  const pages = (ramKiB * 1024) / PAGE_SIZE;
  const chunk = Buffer.alloc(256 * PAGE_SIZE);
  try {
    for (let at = 0; at < pages; at += 256) {
      const n = readSync(fd, chunk, 0, Math.min(256, pages - at) * PAGE_SIZE, at * PAGE_SIZE);
      const data = chunk.subarray(0, n);
      all.update(data);
      rest.update(at === 0 ? data.subarray(PAGE_SIZE) : data);
    }
  } finally {
    closeSync(fd);
  }
  return { pages, sha256: all.digest("hex"), sha256Rest: rest.digest("hex") };
}
