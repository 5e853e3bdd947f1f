/**
 * The destination half of a migration, inside the runner of a freshly created, paused guest:
 * listens on one port for one source (its address and a 16-byte token, both handed out by xend
 * over the relocation channel), copies the pages it receives straight into guest memory, checks
 * each page's CRC, restores the vCPU state and verifies the whole memory at the end.
 *
 * A page that fails its CRC in a batch sent while the source guest ran may be torn (the guest wrote
 * it while it was on its way); it is "suspect" until a later version of it verifies. Any page still
 * suspect at the end, or any failure in a batch sent with the source stopped, fails the migration.
 */
import { timingSafeEqual } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { MigrationStats, VcpuState } from "../../driver.ts";
import type { SimGuest } from "../guest.ts";
import { PAGE_SIZE } from "../memory.ts";
import { ZERO_PAGE_CRC, crc32, crcTable, tableDigest } from "./checksum.ts";
import {
  FLAG_STOPPED, FRAME_HEADER_BYTES, Frame, MAX_BATCH_PAGES, MAX_FRAME_BYTES, MAX_ZERO_RUNS, ProtocolError, STREAM_VERSION,
  SmallFrameReader, TOKEN_BYTES, frame, u32s,
} from "./wire.ts";

/** How long the destination waits for the source runner's answer to COMMIT. */
const SETTLE_TIMEOUT_MS = 10_000;

/** The source runner's answer to COMMIT (see {@link IncomingStream.settle}). */
export type Settlement = { committed: true } | { committed: false; why: string };

export interface ReceiveOptions {
  bindAddress: string;
  allowFrom?: string;
  token: Buffer;
  /** Longest wait for the source to connect, and for data while streaming. */
  timeoutMs: number;
}

/** "::ffff:10.0.0.1" -> "10.0.0.1": IPv4 peers of a dual-stack socket. */
export function plainAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}

const SMALL_FRAME_MAX = 4 * 2 ** 20;

type State =
  | { kind: "header" }
  | { kind: "body"; type: number; flags: number; need: number }
  | { kind: "pages-head"; flags: number; length: number }
  | { kind: "pages-list"; flags: number; length: number; round: number; count: number }
  | { kind: "pages-data"; flags: number; pfns: Uint32Array; crcs: Uint32Array; index: number; offset: number };

export class IncomingStream {
  private server?: Server;
  private socket?: Socket;
  private failure?: Error;
  private finished = false;
  private resolveDone!: (stats: MigrationStats) => void;
  private rejectDone!: (error: Error) => void;
  /** Settles once the memory was verified (or the stream failed). */
  readonly done: Promise<MigrationStats>;
  private timer?: ReturnType<typeof setTimeout>;
  // stream state
  private state: State = { kind: "header" };
  private acc: Buffer[] = [];
  private accBytes = 0;
  private hello = false;
  private nrPages = 0;
  private table: Uint32Array = new Uint32Array(0);
  private readonly suspect = new Set<number>();
  private vcpus?: VcpuState[];
  // figures
  private readonly startedAt = performance.now();
  private connectedAt = 0;
  private received = 0;
  private pages = 0;
  private zeroPages = 0;
  private mismatches = 0;
  private rounds = 0;
  /** Time spent handling received data, and in how many reads it came (diagnostics). */
  private busyMs = 0;
  private chunks = 0;
  // after VERIFIED: the link stays open for the commit exchange (settle())
  private readonly after = new SmallFrameReader();
  /** Why the source will not give the guest up (it said RESUMED, or the link ended). */
  private sourceGone?: string;
  private settleWaiter?: () => void;
  private answer?: number;

  constructor(
    private readonly guest: SimGuest,
    private readonly options: ReceiveOptions,
    private readonly log: (line: string) => void,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {});
  }

  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const server = createServer((socket) => this.accept(socket));
      this.server = server;
      server.once("error", reject);
      server.listen({ host: this.options.bindAddress || undefined, port: 0 }, () => {
        server.off("error", reject);
        server.on("error", (error) => this.fail(error));
        const address = server.address();
        const port = typeof address === "object" && address ? address.port : 0;
        this.arm(`the source did not connect within ${this.options.timeoutMs} ms`);
        resolve({ host: this.options.bindAddress, port });
      });
    });
  }

  abort(error: Error): void {
    if (this.finished && !this.failure) {
      // Verified but not committed: closing the link tells the source runner nothing it must act
      // on (its xend decides); the guest here is destroyed by xend or by the runner itself.
      this.failure = error;
      this.socket?.end(frame(Frame.ERROR, Buffer.from(error.message, "utf8")));
      this.socket?.destroy();
      this.settleWaiter?.();
      return;
    }
    this.fail(error);
  }

  /**
   * After VERIFIED: asks the source runner to give the guest up (COMMIT) and waits for its answer.
   * Only `{committed: true}` lets this side start the guest; RESUMED, a closed link or no answer in
   * time mean the source keeps (or got back) the guest, and the copy here must be dropped.
   */
  async settle(): Promise<Settlement> {
    const socket = this.socket;
    if (!this.finished || this.failure || !socket) return { committed: false, why: this.failure?.message ?? "the memory was not verified" };
    if (this.sourceGone === undefined && this.answer === undefined) {
      socket.write(frame(Frame.COMMIT));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.sourceGone ??= `no answer from the source within ${SETTLE_TIMEOUT_MS / 1000} s`;
          resolve();
        }, SETTLE_TIMEOUT_MS);
        this.settleWaiter = () => {
          clearTimeout(timer);
          resolve();
        };
        if (this.answer !== undefined || this.sourceGone !== undefined) this.settleWaiter();
      });
      this.settleWaiter = undefined;
    }
    socket.end();
    if (this.answer === Frame.COMMITTED) return { committed: true };
    if (this.answer === Frame.RESUMED) return { committed: false, why: "the guest resumed at the source (its xend went away or gave up)" };
    return { committed: false, why: this.sourceGone ?? "the source did not answer" };
  }

  /** Frames of the source after VERIFIED: COMMITTED or RESUMED (anything else ends the link). */
  private afterVerified(chunk: Buffer): void {
    try {
      for (const f of this.after.push(chunk)) {
        if (this.answer !== undefined) continue;
        if (f.type === Frame.COMMITTED || f.type === Frame.RESUMED) this.answer = f.type;
        else this.sourceGone ??= `the source sent frame type ${f.type} after the verification`;
      }
    } catch (error) {
      this.sourceGone ??= (error as Error).message;
    }
    this.settleWaiter?.();
  }

  /** (Re)starts the inactivity timer. */
  private arm(why: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fail(new Error(why)), this.options.timeoutMs);
  }

  private fail(error: Error): void {
    if (this.failure || this.finished) return;
    this.failure = error;
    clearTimeout(this.timer);
    this.server?.close();
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      // Tell the source why, then close (it does not wait for this; it sees the close anyway).
      socket.end(frame(Frame.ERROR, Buffer.from(error.message, "utf8")));
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    this.rejectDone(error);
  }

  private accept(socket: Socket): void {
    const peer = plainAddress(socket.remoteAddress);
    if (this.socket || this.failure || this.finished) {
      socket.destroy();
      return;
    }
    if (this.options.allowFrom && peer !== plainAddress(this.options.allowFrom)) {
      this.log(`migration: refused a stream connection from ${peer} (expected ${this.options.allowFrom})`);
      socket.destroy();
      return;
    }
    this.socket = socket;
    this.connectedAt = performance.now();
    this.server?.close();
    socket.setNoDelay(true);
    this.arm(`no migration data for ${this.options.timeoutMs} ms`);
    socket.on("error", (error) => this.fail(new Error(`migration stream from ${peer}: ${error.message}`)));
    socket.on("close", () => this.fail(new Error(`the source closed the migration stream before its end (${this.received} bytes received)`)));
    socket.on("data", (chunk: Buffer) => {
      if (this.finished && !this.failure) return this.afterVerified(chunk);
      if (this.failure || this.finished) return;
      this.received += chunk.length;
      this.chunks++;
      const t0 = performance.now();
      try {
        this.consume(chunk);
      } catch (error) {
        this.fail(error instanceof ProtocolError ? error : new ProtocolError((error as Error).message));
      }
      this.busyMs += performance.now() - t0;
      if (!this.failure && !this.finished) this.arm(`no migration data for ${this.options.timeoutMs} ms`);
    });
  }

  // ---- parsing -----------------------------------------------------------------------------

  /** Gathers `need` bytes across chunks; returns them once complete. */
  private gather(chunk: Buffer, at: number, need: number): { buf?: Buffer; used: number } {
    const take = Math.min(need - this.accBytes, chunk.length - at);
    if (take > 0) {
      this.acc.push(chunk.subarray(at, at + take));
      this.accBytes += take;
    }
    if (this.accBytes < need) return { used: take };
    const buf = this.acc.length === 1 ? this.acc[0]! : Buffer.concat(this.acc, need);
    this.acc = [];
    this.accBytes = 0;
    return { buf, used: take };
  }

  private consume(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.failure && !this.finished) {
      const s = this.state;
      if (s.kind === "pages-data") {
        at += this.copyPages(s, chunk, at);
        continue;
      }
      const need = s.kind === "header" ? FRAME_HEADER_BYTES : s.kind === "body" ? s.need : s.kind === "pages-head" ? 8 : s.count * 8;
      const { buf, used } = this.gather(chunk, at, need);
      at += used;
      if (!buf) break;
      if (s.kind === "header") this.onHeader(buf);
      else if (s.kind === "body") {
        this.state = { kind: "header" };
        this.onFrame(s.type, s.flags, buf);
      } else if (s.kind === "pages-head") this.onPagesHead(s, buf);
      else this.onPagesList(s, buf);
    }
  }

  private onHeader(h: Buffer): void {
    const length = h.readUInt32BE(0);
    const type = h[4]!;
    const flags = h[5]!;
    if (length < 4 || length > MAX_FRAME_BYTES) throw new ProtocolError(`bad frame length ${length}`);
    if (!this.hello && type !== Frame.HELLO) throw new ProtocolError(`the stream must start with HELLO (got frame type ${type})`);
    if (type === Frame.PAGES) {
      this.state = { kind: "pages-head", flags, length };
      return;
    }
    if (length - 4 > SMALL_FRAME_MAX) throw new ProtocolError(`frame type ${type} of ${length} bytes is too large`);
    if (length === 4) {
      this.state = { kind: "header" };
      this.onFrame(type, flags, Buffer.alloc(0));
    } else this.state = { kind: "body", type, flags, need: length - 4 };
  }

  private onPagesHead(s: { flags: number; length: number }, b: Buffer): void {
    const round = b.readUInt32BE(0);
    const count = b.readUInt32BE(4);
    if (count < 1 || count > MAX_BATCH_PAGES) throw new ProtocolError(`a batch of ${count} pages (1..${MAX_BATCH_PAGES} allowed)`);
    if (s.length !== 4 + 8 + count * 8 + count * PAGE_SIZE) throw new ProtocolError(`a batch of ${count} pages cannot be ${s.length} bytes long`);
    this.state = { kind: "pages-list", flags: s.flags, length: s.length, round, count };
  }

  private onPagesList(s: { flags: number; round: number; count: number }, b: Buffer): void {
    const pfns = new Uint32Array(s.count);
    const crcs = new Uint32Array(s.count);
    for (let i = 0; i < s.count; i++) {
      const pfn = b.readUInt32BE(i * 4);
      if (pfn >= this.nrPages) throw new ProtocolError(`page frame ${pfn} is outside the ${this.nrPages} pages announced`);
      pfns[i] = pfn;
      crcs[i] = b.readUInt32BE((s.count + i) * 4);
    }
    this.rounds = Math.max(this.rounds, s.round);
    this.state = { kind: "pages-data", flags: s.flags, pfns, crcs, index: 0, offset: 0 };
  }

  /** Copies page bytes straight into guest memory; returns how many bytes of `chunk` it used. */
  private copyPages(s: Extract<State, { kind: "pages-data" }>, chunk: Buffer, at: number): number {
    const bytes = this.guest.mem.bytes;
    const stopped = (s.flags & FLAG_STOPPED) !== 0;
    let used = 0;
    // The end of a page begun in an earlier chunk.
    if (s.offset > 0) {
      const pfn = s.pfns[s.index]!;
      const take = Math.min(PAGE_SIZE - s.offset, chunk.length - at);
      bytes.set(chunk.subarray(at, at + take), pfn * PAGE_SIZE + s.offset);
      used += take;
      s.offset += take;
      if (s.offset < PAGE_SIZE) return used;
      this.verifyPage(pfn, s.crcs[s.index]!, stopped, bytes.subarray(pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE));
      s.index++;
      s.offset = 0;
    }
    // Whole pages: one copy per run of consecutive frames, each page checked in the chunk.
    while (s.index < s.pfns.length && chunk.length - at - used >= PAGE_SIZE) {
      const first = s.index;
      const whole = Math.floor((chunk.length - at - used) / PAGE_SIZE);
      let n = 1;
      while (n < whole && first + n < s.pfns.length && s.pfns[first + n] === s.pfns[first]! + n) n++;
      const from = at + used;
      bytes.set(chunk.subarray(from, from + n * PAGE_SIZE), s.pfns[first]! * PAGE_SIZE);
      for (let i = 0; i < n; i++) {
        const off = from + i * PAGE_SIZE;
        this.verifyPage(s.pfns[first + i]!, s.crcs[first + i]!, stopped, chunk.subarray(off, off + PAGE_SIZE));
      }
      used += n * PAGE_SIZE;
      s.index += n;
    }
    // The start of a page that continues in the next chunk.
    if (s.index < s.pfns.length && at + used < chunk.length) {
      const take = chunk.length - at - used;
      bytes.set(chunk.subarray(at + used, at + used + take), s.pfns[s.index]! * PAGE_SIZE);
      s.offset = take;
      used += take;
    }
    if (s.index === s.pfns.length) this.state = { kind: "header" };
    return used;
  }

  /** `data` holds the page's bytes as written into guest memory. */
  private verifyPage(pfn: number, expected: number, stopped: boolean, data: Uint8Array): void {
    const mem = this.guest.mem;
    const got = crc32(data);
    mem.markWritten(pfn);
    this.table[pfn] = got;
    this.pages++;
    if (got === expected) {
      if (this.suspect.size > 0) this.suspect.delete(pfn);
      return;
    }
    this.mismatches++;
    if (stopped) throw new ProtocolError(`page ${pfn} failed its checksum (crc ${hex(got)}, expected ${hex(expected)}) in a batch sent with the guest stopped`);
    this.suspect.add(pfn);
  }

  private onFrame(type: number, _flags: number, body: Buffer): void {
    switch (type) {
      case Frame.HELLO:
        return this.onHello(body);
      case Frame.ZERO:
        return this.onZero(body);
      case Frame.ROUND:
        this.rounds = Math.max(this.rounds, body.readUInt32BE(0));
        return;
      case Frame.VCPUS:
        this.vcpus = parseVcpus(body);
        return;
      case Frame.END:
        return this.onEnd(body);
      case Frame.ERROR:
        throw new ProtocolError(`the source gave up: ${body.toString("utf8")}`);
      default:
        throw new ProtocolError(`unknown frame type ${type}`);
    }
  }

  private onHello(body: Buffer): void {
    if (this.hello) throw new ProtocolError("a second HELLO");
    if (body.length < 12 + TOKEN_BYTES) throw new ProtocolError("HELLO is too short");
    const version = body.readUInt32BE(0);
    const pageSize = body.readUInt32BE(4);
    const pages = body.readUInt32BE(8);
    const token = body.subarray(12, 12 + TOKEN_BYTES);
    if (!timingSafeEqual(token, this.options.token)) throw new ProtocolError("wrong migration token");
    if (version !== STREAM_VERSION) throw new ProtocolError(`stream version ${version} is not supported (this runner speaks ${STREAM_VERSION})`);
    if (pageSize !== PAGE_SIZE) throw new ProtocolError(`page size ${pageSize} differs from ${PAGE_SIZE}`);
    const room = Math.min(this.guest.mem.nrPages, Math.ceil(this.guest.targetKiB / 4));
    if (pages > room) throw new ProtocolError(`the source sends ${pages} pages; this guest has room for ${room}`);
    this.hello = true;
    this.nrPages = pages;
    this.table = crcTable(pages);
    this.socket!.write(frame(Frame.WELCOME, u32s(STREAM_VERSION, pages)));
  }

  private onZero(body: Buffer): void {
    const runs = body.readUInt32BE(4);
    if (runs > MAX_ZERO_RUNS || body.length !== 8 + runs * 8) throw new ProtocolError(`a ZERO frame of ${body.length} bytes cannot hold ${runs} runs`);
    const mem = this.guest.mem;
    for (let r = 0; r < runs; r++) {
      const first = body.readUInt32BE(8 + r * 8);
      const count = body.readUInt32BE(12 + r * 8);
      if (first + count > this.nrPages) throw new ProtocolError(`zero pages ${first}+${count} are outside the ${this.nrPages} pages announced`);
      for (let pfn = first; pfn < first + count; pfn++) {
        if (mem.isPopulated(pfn)) {
          mem.bytes.fill(0, pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE);
          Atomics.and(mem.populatedWords, pfn >>> 5, ~(1 << (pfn & 31)));
        }
        this.table[pfn] = ZERO_PAGE_CRC;
        this.suspect.delete(pfn);
      }
      this.zeroPages += count;
    }
  }

  private onEnd(body: Buffer): void {
    const rounds = body.readUInt32BE(0);
    const pages = body.readUInt32BE(4);
    const digest = body.subarray(8, 40);
    if (pages !== this.nrPages) throw new ProtocolError(`END counts ${pages} pages, HELLO announced ${this.nrPages}`);
    if (this.suspect.size > 0) {
      const first = Math.min(...[...this.suspect].slice(0, 1000));
      throw new ProtocolError(`${this.suspect.size} page(s) failed their checksum and were not sent again (first: page ${first})`);
    }
    const mine = tableDigest(this.table);
    if (!mine.equals(digest)) throw new ProtocolError("the memory digest does not match the source's");
    if (!this.vcpus) throw new ProtocolError("the stream ended without the vCPU state");
    this.guest.setVcpuState(this.vcpus);
    this.rounds = Math.max(this.rounds, rounds);
    this.finished = true;
    clearTimeout(this.timer);
    const socket = this.socket!;
    socket.removeAllListeners("close");
    socket.on("close", () => {
      this.sourceGone ??= "the source closed the link before answering";
      this.settleWaiter?.();
    });
    // The link stays open: the commit exchange (settle) follows once xend starts the guest.
    socket.write(frame(Frame.VERIFIED, mine));
    const now = performance.now();
    this.log(`migration: received ${this.pages} pages (${this.zeroPages} zero) in ${this.rounds} round(s), ${this.mismatches} torn page(s) sent again; memory verified; ` +
      `${(this.received / 2 ** 20).toFixed(1)} MiB in ${Math.round(now - this.connectedAt)} ms, ${this.chunks} reads, ${Math.round(this.busyMs)} ms handling them`);
    this.resolveDone({
      status: "completed",
      totalTimeMs: Math.round(now - this.startedAt),
      downtimeMs: 0,
      setupTimeMs: Math.round(this.connectedAt - this.startedAt),
      transferredBytes: this.received,
      remainingBytes: 0,
      totalBytes: this.nrPages * PAGE_SIZE,
      zeroPages: this.zeroPages,
      normalPages: this.pages,
      rounds: this.rounds,
      throughputMbps: (this.received * 8) / Math.max(0.001, (now - (this.connectedAt || this.startedAt)) / 1000) / 1e6,
      dirtyPagesRate: 0,
      throttlePercent: 0,
    });
  }
}

function parseVcpus(body: Buffer): VcpuState[] {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ProtocolError("the vCPU state is not valid JSON");
  }
  if (!Array.isArray(value) || !value.every((v) => v && Number.isInteger(v.number) && typeof v.regs === "object")) {
    throw new ProtocolError("the vCPU state is not a list of {number, regs}");
  }
  return value as VcpuState[];
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}
