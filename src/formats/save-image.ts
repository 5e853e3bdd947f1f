/**
 * The saved-domain file `xm save` writes and `xm restore` / `xm resume` read (issue 15.1): xend's
 * envelope around a driver's own state stream, as xend 3.4's XendCheckpoint put
 * `LinuxGuestRecord` + the config SXP in front of xc_save's stream.
 *
 *   offset 0    16 bytes  magic "XVM-SAVED-DOMAIN"
 *          16   u32 BE    format version (1)
 *          20   u32 BE    header length H (at most 1 MiB)
 *          24   H bytes   header: JSON (UTF-8), {@link SaveImageHeader}
 *          24+H P bytes   the driver's payload (self-describing; the sim's is `sim-1`)
 *          end  88 bytes  trailer: "XVM-SAVE-TRAILER", u64 BE P, SHA-256 of the payload,
 *                         SHA-256 of the header bytes
 *
 * The payload is written straight by the driver (the sim runner, next to guest memory) and its
 * SHA-256 computed as it goes; xend writes the header first and the trailer last, so a file that
 * lacks its trailer is one whose save did not finish. Reading checks everything before anything
 * is created: magic, version, sizes (truncation), both checksums (corruption), streamed in
 * 1 MiB reads, never the whole file in memory.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from "node:fs";
import { XvmError } from "../errors.ts";

export const SAVE_MAGIC = "XVM-SAVED-DOMAIN";
export const TRAILER_MAGIC = "XVM-SAVE-TRAILER";
export const SAVE_VERSION = 1;
export const PREFIX_BYTES = 24;
export const TRAILER_BYTES = 16 + 8 + 32 + 32;
export const MAX_HEADER_BYTES = 2 ** 20;
const READ_CHUNK = 2 ** 20;

/** What the header says about the saved domain (the config is xend's record of it). */
export interface SaveImageHeader {
  /** Driver that wrote the payload (`sim`, `qemu`): only the same driver can read it back. */
  driver: string;
  /** ISO time of the save. */
  savedAt: string;
  /** Host name of the saver (informational). */
  host: string;
  domain: { name: string; uuid: string; domid: number; memoryKiB: number; maxMemKiB: number; vcpus: number; managed: boolean; paused: boolean };
  /** xend's config of the domain (DomainConfig with its uuid). */
  config: Record<string, unknown>;
}

export interface SaveImage {
  header: SaveImageHeader;
  /** Where the payload starts and how long it is. */
  payloadOffset: number;
  payloadBytes: number;
  payloadSha256: string;
  fileBytes: number;
}

function hasher(): { update(data: Uint8Array): void; digest(): Buffer } {
  const h = process.getBuiltinModule("node:crypto").createHash("sha256");
  return { update: (d) => void h.update(d), digest: () => h.digest() };
}

export function sha256Of(data: Uint8Array): Buffer {
  const h = hasher();
  h.update(data);
  return h.digest();
}

function bad(path: string, detail: string): XvmError {
  return new XvmError("SAVE_FILE_BAD", { path, detail });
}

/** The bytes xend writes before the driver's payload. */
export function encodeSavePrefix(header: SaveImageHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  if (json.length > MAX_HEADER_BYTES) throw new XvmError("XVM_BAD_REQUEST", { detail: `save header of ${json.length} bytes is over ${MAX_HEADER_BYTES}` });
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(SAVE_MAGIC, 0, "latin1");
  prefix.writeUInt32BE(SAVE_VERSION, 16);
  prefix.writeUInt32BE(json.length, 20);
  return Buffer.concat([prefix, json]);
}

/** The trailer that ends a complete file. */
export function encodeSaveTrailer(prefix: Buffer, payloadBytes: number, payloadSha256Hex: string): Buffer {
  const t = Buffer.alloc(TRAILER_BYTES);
  t.write(TRAILER_MAGIC, 0, "latin1");
  t.writeBigUInt64BE(BigInt(payloadBytes), 16);
  Buffer.from(payloadSha256Hex, "hex").copy(t, 24);
  sha256Of(prefix.subarray(PREFIX_BYTES)).copy(t, 56);
  return t;
}

export function writeAll(fd: number, data: Uint8Array, position?: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position === undefined ? null : position + done);
}

function readExactly(fd: number, length: number, position: number): Buffer {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return out.subarray(0, done);
}

/**
 * Opens and checks a saved-domain file: everything but the payload's checksum unless `verify`
 * (then the payload is read once, in 1 MiB pieces, and hashed; `onProgress` hears bytes read).
 * Throws SAVE_FILE_BAD naming what is wrong: not a saved domain, another format version,
 * truncated, corrupt.
 */
export function readSaveImage(path: string, options: { verify: boolean; onProgress?: (done: number, total: number) => void }): SaveImage {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw bad(path, code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : String((error as Error).message));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw bad(path, "not a regular file");
    const size = st.size;
    const prefix = readExactly(fd, PREFIX_BYTES, 0);
    if (prefix.length >= 16 && prefix.toString("latin1", 0, 16) !== SAVE_MAGIC) {
      const found = prefix.subarray(0, 16).toString("latin1").replace(/[^\x20-\x7e]/g, ".");
      throw bad(path, `not a saved domain (found '${found}' where the header starts with '${SAVE_MAGIC}')`);
    }
    if (prefix.length < PREFIX_BYTES) throw bad(path, `truncated: ${size} bytes, shorter than the header`);
    const version = prefix.readUInt32BE(16);
    if (version !== SAVE_VERSION) throw bad(path, `saved-domain format version ${version}; this xvm reads version ${SAVE_VERSION}`);
    const headerBytes = prefix.readUInt32BE(20);
    if (headerBytes > MAX_HEADER_BYTES) throw bad(path, `corrupt: header length ${headerBytes} is over ${MAX_HEADER_BYTES}`);
    if (size < PREFIX_BYTES + headerBytes) throw bad(path, `truncated: ${size} bytes, the header alone needs ${PREFIX_BYTES + headerBytes}`);
    const json = readExactly(fd, headerBytes, PREFIX_BYTES);
    if (size < PREFIX_BYTES + headerBytes + TRAILER_BYTES) throw bad(path, `truncated: ${size} bytes, it ends before its end record`);
    const trailer = readExactly(fd, TRAILER_BYTES, size - TRAILER_BYTES);
    if (trailer.toString("latin1", 0, 16) !== TRAILER_MAGIC) {
      throw bad(path, `truncated: it does not end with the end record a complete save writes (${size} bytes; the save did not finish or the file was cut)`);
    }
    const payloadBytes = Number(trailer.readBigUInt64BE(16));
    const expected = PREFIX_BYTES + headerBytes + payloadBytes + TRAILER_BYTES;
    if (expected !== size) throw bad(path, size < expected ? `truncated: ${size} bytes, the end record says ${expected}` : `corrupt: ${size} bytes, the end record says ${expected}`);
    if (!sha256Of(json).equals(trailer.subarray(56, 88))) throw bad(path, "corrupt: the header does not match its checksum");
    let header: SaveImageHeader;
    try {
      header = JSON.parse(json.toString("utf8")) as SaveImageHeader;
    } catch {
      throw bad(path, "corrupt: the header is not valid JSON");
    }
    if (typeof header?.driver !== "string" || typeof header.domain?.uuid !== "string" || typeof header.config !== "object" || !header.config) {
      throw bad(path, "corrupt: the header lacks its driver, domain or config");
    }
    const payloadSha256 = trailer.subarray(24, 56).toString("hex");
    const payloadOffset = PREFIX_BYTES + headerBytes;
    if (options.verify) {
      const h = hasher();
      const buf = Buffer.alloc(Math.min(READ_CHUNK, Math.max(1, payloadBytes)));
      let done = 0;
      while (done < payloadBytes) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, payloadBytes - done), payloadOffset + done);
        if (n === 0) throw bad(path, `truncated: the payload ends at byte ${payloadOffset + done}`);
        h.update(buf.subarray(0, n));
        done += n;
        options.onProgress?.(done, payloadBytes);
      }
      if (h.digest().toString("hex") !== payloadSha256) throw bad(path, "corrupt: the saved state does not match its checksum");
    }
    return { header, payloadOffset, payloadBytes, payloadSha256, fileBytes: size };
  } finally {
    closeSync(fd);
  }
}
