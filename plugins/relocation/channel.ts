/**
 * The relocation channel between two xends (TCP, `xend-relocation-port`): length-prefixed frames
 * whose bodies are SXP, as xend's relocation protocol spoke SXP (docs/relocation-protocol.md).
 *
 *   u32 BE  length of what follows     u8 type     u8 flags (0)     u16 BE reserved (0)     SXP text
 *
 * Nothing depends on half-close (Bun does not honour it everywhere): every message is a frame and
 * the end of the conversation is an explicit DONE, ERROR or ABORT.
 */
import type { Socket } from "node:net";
import { errorMessage, sxp, XvmError, type Sxp, type SxpNode } from "xvm/plugin";

const { parse, show } = sxp;

/** 2: the connection starts with the key handshake (src/security/peer-auth.ts). */
export const PROTOCOL_VERSION = 2;
export const MAGIC = "xvm-relocation";

export const Msg = {
  /** Both ways, source first: `(xvm-relocation (version 1) (host NAME) (software 'xvm V'))`. */
  HELLO: 0x01,
  /** source -> destination: `(receive (live 0|1) (paused 0|1) [(progress 1)] (domain …))`. */
  RECEIVE: 0x02,
  /** destination -> source: `(ready (domid N) (host ADDR) (port N) (token HEX) [(ack 1)])`. */
  READY: 0x03,
  /** destination -> source: `(done (domid N) (name NAME))` once the guest runs there. */
  DONE: 0x04,
  /** source -> destination: `(abort (reason '…'))`. */
  ABORT: 0x05,
  /** source -> destination, at most once a second while the stream runs: `(progress (transferred BYTES))`. */
  PROGRESS: 0x06,
  /** source -> destination, after HELLO instead of RECEIVE: `(query (uuid U))`: do you run this guest? */
  QUERY: 0x07,
  /** destination -> source, the answer to QUERY: `(status (uuid U) (state running|paused|arriving|none))`. */
  STATUS: 0x08,
  /** either way: `(err (type T) (value '…'))`, then the sender closes. */
  ERROR: 0x3f,
} as const;

const NAMES: Record<number, string> = Object.fromEntries(Object.entries(Msg).map(([k, v]) => [v, k]));

export function msgName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}

/**
 * Every relocation message is small: a domain's SXP is a few KiB (at most 32 devices come in).
 * A frame announcing more is refused before it is buffered.
 */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export function encode(type: number, body: Sxp): Buffer {
  const text = Buffer.from(show(body), "utf8");
  const out = Buffer.allocUnsafe(8 + text.length);
  out.writeUInt32BE(4 + text.length, 0);
  out.writeUInt8(type, 4);
  out.writeUInt8(0, 5);
  out.writeUInt16BE(0, 6);
  text.copy(out, 8);
  return out;
}

export interface Message {
  type: number;
  body: SxpNode;
}

export class ChannelClosed extends Error {}

/** A socket speaking relocation frames: send, and await the next message with a deadline. */
export class Channel {
  private buffered: Buffer = Buffer.alloc(0);
  private readonly queue: Message[] = [];
  private waiter?: () => void;
  private ended?: Error;
  private readonly closeListeners = new Set<(why: Error) => void>();

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.end(new ChannelClosed(error.message)));
    socket.on("close", () => this.end(new ChannelClosed("the peer closed the relocation connection")));
  }

  get closed(): boolean {
    return this.ended !== undefined;
  }

  /** Called once if the connection ends (or breaks) while messages are still expected. */
  onClose(listener: (why: Error) => void): () => void {
    if (this.ended) listener(this.ended);
    else this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  private end(why: Error): void {
    if (this.ended) return;
    this.ended = why;
    this.waiter?.();
    for (const l of this.closeListeners) l(why);
    this.closeListeners.clear();
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    try {
      while (this.buffered.length >= 4) {
        const length = this.buffered.readUInt32BE(0);
        if (length < 4 || length > MAX_MESSAGE_BYTES) throw new Error(`bad relocation frame length ${length}`);
        if (this.buffered.length < 4 + length) break;
        const type = this.buffered[4]!;
        const text = this.buffered.toString("utf8", 8, 4 + length);
        this.buffered = this.buffered.subarray(4 + length);
        this.queue.push({ type, body: parse(text) });
      }
    } catch (error) {
      this.end(new ChannelClosed(`malformed relocation message: ${(error as Error).message}`));
      this.socket.destroy();
    }
    this.waiter?.();
  }

  send(type: number, body: Sxp): void {
    if (!this.socket.destroyed) this.socket.write(encode(type, body));
  }

  /** Sends a last message and closes once it is written. */
  finish(type: number, body: Sxp): void {
    if (this.socket.destroyed) return;
    this.socket.write(encode(type, body), () => this.socket.destroy());
    setTimeout(() => this.socket.destroy(), 2_000).unref?.();
  }

  close(): void {
    this.socket.destroy();
  }

  /** The next message; rejects on close or after `timeoutMs`. */
  next(timeoutMs: number, what: string): Promise<Message> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no ${what} within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const check = () => {
        if (this.queue.length > 0) {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(this.queue.shift()!);
        } else if (this.ended) {
          clearTimeout(timer);
          this.waiter = undefined;
          reject(this.ended);
        }
      };
      this.waiter = check;
      check();
    });
  }
}

/** `(err (type T) (value '…'))` -> its value. */
export function errorText(body: SxpNode): string {
  if (Array.isArray(body)) {
    const value = body.find((x) => Array.isArray(x) && x[0] === "value");
    if (Array.isArray(value) && typeof value[1] === "string") return value[1];
  }
  return show(body as Sxp);
}

/** The string value of `(key value)` directly under `node`. */
export function field(node: SxpNode, key: string): string | undefined {
  if (!Array.isArray(node)) return undefined;
  const item = node.find((x) => Array.isArray(x) && x[0] === key);
  return Array.isArray(item) && typeof item[1] === "string" ? item[1] : undefined;
}

/** An error's message without the "migration of X failed: " a lower layer already put in front. */
export function detailOf(error: unknown): string {
  if (error instanceof XvmError && error.code === "MIGRATE_FAILED") return String(error.params.detail ?? error.message);
  return errorMessage(error);
}
