/**
 * Length-prefixed frames on a stream socket (the runner socket). Each frame is
 *
 *   u32 LE  length of what follows
 *   u32 LE  length of the JSON header
 *   …       the header (UTF-8 JSON object)
 *   …       an optional binary payload (the rest of the frame)
 *
 * so a reader always knows where a message ends: nothing depends on half-close, which Bun does
 * not honour on Unix sockets (see the library notes).
 */
import type { Socket } from "node:net";

export const MAX_FRAME_BYTES = 2 ** 30;

export interface Frame {
  header: Record<string, unknown>;
  payload: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export function encodeFrame(header: Record<string, unknown>, payload: Uint8Array = EMPTY): Buffer {
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const total = 4 + json.length + payload.byteLength;
  if (total > MAX_FRAME_BYTES) throw new RangeError(`frame of ${total} bytes exceeds the ${MAX_FRAME_BYTES}-byte limit`);
  const out = Buffer.allocUnsafe(4 + total);
  out.writeUInt32LE(total, 0);
  out.writeUInt32LE(json.length, 4);
  json.copy(out, 8);
  if (payload.byteLength) out.set(payload, 8 + json.length);
  return out;
}

/** Turns a byte stream into frames; keeps chunks in a list so a large frame is copied once. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  push(chunk: Uint8Array): Frame[] {
    const frames: Frame[] = [];
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.byteLength;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) break;
        const head = this.take(4);
        this.need = head.readUInt32LE(0);
        if (this.need < 4 || this.need > MAX_FRAME_BYTES) throw new RangeError(`bad frame length ${this.need}`);
      }
      if (this.buffered < this.need) break;
      const body = this.take(this.need);
      this.need = -1;
      const headerLength = body.readUInt32LE(0);
      if (headerLength > body.length - 4) throw new RangeError(`bad frame header length ${headerLength}`);
      const header = JSON.parse(body.toString("utf8", 4, 4 + headerLength)) as Record<string, unknown>;
      frames.push({ header, payload: body.subarray(4 + headerLength) });
    }
    return frames;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const part = Math.min(c.length, n - at);
        c.copy(out, at, 0, part);
        at += part;
        if (part === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(part);
      }
    }
    this.buffered -= n;
    return out;
  }
}

/** Calls `onFrame` for every frame arriving on `socket`; a malformed stream destroys the socket. */
export function readFrames(socket: Socket, onFrame: (frame: Frame) => void): void {
  const decoder = new FrameDecoder();
  socket.on("data", (chunk: Buffer) => {
    let frames: Frame[];
    try {
      frames = decoder.push(chunk);
    } catch (error) {
      socket.destroy(error as Error);
      return;
    }
    for (const frame of frames) onFrame(frame);
  });
}
