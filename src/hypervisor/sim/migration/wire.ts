/**
 * The memory stream between two runners (source guest -> destination guest), in the frame layout
 * every xvm relocation channel uses (docs/relocation-protocol.md):
 *
 *   u32 BE  length of what follows (type, flags, reserved, body)
 *   u8      type
 *   u8      flags
 *   u16 BE  reserved (0)
 *   …       body
 *
 * Bodies are big-endian, like xend's length prefix and libxc's image header. Pages travel in
 * PAGES frames whose header (pfns + per-page CRC-32) precedes the raw page bytes, so a receiver
 * can copy the bytes straight into guest memory as they arrive.
 */

export const STREAM_VERSION = 1;
export const FRAME_HEADER_BYTES = 8;
/** Largest frame a reader accepts (a PAGES frame of MAX_BATCH_PAGES pages fits easily). */
export const MAX_FRAME_BYTES = 64 * 2 ** 20;
/** Pages per PAGES frame at most (libxc's MAX_BATCH_SIZE). */
export const MAX_BATCH_PAGES = 1024;
/** Zero runs per ZERO frame at most. */
export const MAX_ZERO_RUNS = 8192;
export const TOKEN_BYTES = 16;

export const Frame = {
  /** source -> destination: u32 version, u32 page size, u32 pages, token (16 bytes). */
  HELLO: 0x01,
  /** destination -> source: u32 version, u32 pages the destination holds. */
  WELCOME: 0x02,
  /** u32 round, u32 count, u32 pfn[count], u32 crc[count], then count pages. */
  PAGES: 0x10,
  /** u32 round, u32 runs, then runs × (u32 first pfn, u32 count): pages that are all zero. */
  ZERO: 0x11,
  /** u32 round, u32 pages dirtied during it (end of a pre-copy round; informational). */
  ROUND: 0x12,
  /** UTF-8 JSON: the vCPU states (VcpuState[]). */
  VCPUS: 0x20,
  /** u32 rounds, u32 pages, 32 bytes SHA-256 over the per-page CRC table. */
  END: 0x30,
  /** destination -> source: 32 bytes, the digest it computed (equal to END's). */
  VERIFIED: 0x31,
  /**
   * destination -> source, after VERIFIED, when xend starts the guest there: "give it up". The
   * source runner decides alone (it may already have resumed the guest because its xend went
   * away) and answers COMMITTED or RESUMED; the destination starts the guest only on COMMITTED.
   * The two runners outlive their xends, so the decision holds whichever xend is killed.
   */
  COMMIT: 0x32,
  /** source -> destination: the source gave the guest up for good (it is destroyed next). */
  COMMITTED: 0x33,
  /** source -> destination: the guest runs at the source again; the destination drops its copy. */
  RESUMED: 0x34,
  /** UTF-8 message; the sender closes the connection after it. */
  ERROR: 0x3f,
} as const;

/** PAGES flag: sent with the vCPUs stopped, so a checksum mismatch cannot be a torn page. */
export const FLAG_STOPPED = 0x01;

export function frameHeader(type: number, flags: number, bodyBytes: number): Buffer {
  const h = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  h.writeUInt32BE(bodyBytes + 4, 0);
  h.writeUInt8(type, 4);
  h.writeUInt8(flags, 5);
  h.writeUInt16BE(0, 6);
  return h;
}

/** A whole small frame in one buffer. */
export function frame(type: number, body: Uint8Array = new Uint8Array(0), flags = 0): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength);
  frameHeader(type, flags, body.byteLength).copy(out, 0);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

export function u32s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export function helloBody(pages: number, pageSize: number, token: Buffer): Buffer {
  return Buffer.concat([u32s(STREAM_VERSION, pageSize, pages), token]);
}

/** The header part of a PAGES frame (everything before the page bytes). */
export function pagesHeader(round: number, pfns: ArrayLike<number>, crcs: ArrayLike<number>, count: number, flags: number): Buffer {
  const body = 8 + count * 8;
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body);
  out.writeUInt32BE(4 + body + count * 4096, 0);
  out.writeUInt8(Frame.PAGES, 4);
  out.writeUInt8(flags, 5);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(round, 8);
  out.writeUInt32BE(count, 12);
  let at = 16;
  for (let i = 0; i < count; i++, at += 4) out.writeUInt32BE(pfns[i]!, at);
  for (let i = 0; i < count; i++, at += 4) out.writeUInt32BE(crcs[i]! >>> 0, at);
  return out;
}

export function zeroFrame(round: number, runs: number[]): Buffer {
  const n = runs.length / 2;
  return frame(Frame.ZERO, u32s(round, n, ...runs));
}

export class ProtocolError extends Error {}

export interface SmallFrame {
  type: number;
  flags: number;
  body: Buffer;
}

/** Splits a byte stream into whole frames (for the small frames of the return direction). */
export class SmallFrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes = 2 ** 20) {}

  push(chunk: Buffer): SmallFrame[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const out: SmallFrame[] = [];
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (length < 4 || length > this.maxBytes) throw new ProtocolError(`bad frame length ${length}`);
      if (this.buffered.length < 4 + length) break;
      out.push({ type: this.buffered[4]!, flags: this.buffered[5]!, body: this.buffered.subarray(FRAME_HEADER_BYTES, 4 + length) });
      this.buffered = this.buffered.subarray(4 + length);
    }
    return out;
  }
}
