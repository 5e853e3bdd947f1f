/**
 * Checksums of the memory stream. Every page carries its CRC-32 (zlib's, hardware-assisted on
 * Node and Bun alike: ~13 GB/s here, so it costs little next to the socket); the whole memory is
 * verified at the end by comparing a SHA-256 over the table of per-page CRCs that each side kept
 * (the source: of the last version it sent of every page; the destination: of what its memory
 * holds). Hashing the table instead of the memory keeps the end of the migration, which the guest
 * spends paused, in the order of a millisecond even for gigabytes of guest memory.
 */
import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { PAGE_SIZE } from "../memory.ts";

export { crc32 };

export const ZERO_PAGE_CRC = crc32(new Uint8Array(PAGE_SIZE));

/** True if all bytes of the page at `offset` (a multiple of 4) are zero. */
export function isZeroPage(bytes: Uint8Array, offset: number): boolean {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + offset, PAGE_SIZE / 4);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** A table of per-page CRCs, all starting as the CRC of a zero page (fresh memory is zero). */
export function crcTable(pages: number): Uint32Array {
  return new Uint32Array(pages).fill(ZERO_PAGE_CRC);
}

/** SHA-256 over the table's bytes in little-endian order. */
export function tableDigest(table: Uint32Array): Buffer {
  const bytes = new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
    const copy = Buffer.alloc(table.byteLength);
    table.forEach((v, i) => copy.writeUInt32LE(v, i * 4));
    return createHash("sha256").update(copy).digest();
  }
  return createHash("sha256").update(bytes).digest();
}
