/**
 * The source half of a migration, inside the source guest's runner: connects to the destination
 * runner, sends every page (pre-copy rounds over the dirty log when live), stops the guest for the
 * last round, sends the vCPU state and the end-of-stream digest, and waits for the destination to
 * confirm it verified everything. The guest is left paused on success; on failure it is put back
 * as it was (unpaused if this migration paused it, throttle restored).
 *
 * Pages are written to the socket straight from guest memory (no copy): a page the guest changes
 * between its checksum and the moment the kernel copies it arrives "torn" and fails its checksum;
 * the guest's write also marked it dirty, so it is sent again in a later round, and the destination
 * only refuses pages that are still unverified at the end (see receiver.ts).
 */
import { connect, type Socket } from "node:net";
import type { MigrationProgress, MigrationStats } from "../../driver.ts";
import type { SimGuest } from "../guest.ts";
import { PAGE_SIZE, type GuestMemory } from "../memory.ts";
import { ZERO_PAGE_CRC, crc32, crcTable, isZeroPage, tableDigest } from "./checksum.ts";
import { POLICY_DEFAULTS, PrecopyPolicy } from "./policy.ts";
import {
  FLAG_STOPPED, Frame, MAX_BATCH_PAGES, MAX_ZERO_RUNS, ProtocolError, STREAM_VERSION, SmallFrameReader, TOKEN_BYTES,
  frame, helloBody, pagesHeader, u32s, zeroFrame, type SmallFrame,
} from "./wire.ts";

export interface SendOptions {
  host: string;
  port: number;
  /** Hex token the destination expects. */
  token: string;
  live: boolean;
  maxDowntimeMs: number;
  maxIterations: number;
  maxFactor: number;
  autoConverge: boolean;
  /** Bytes per second; 0 = unlimited. */
  maxBandwidth: number;
  fault?: string;
}

export interface SendResult {
  stats: MigrationStats;
  /** This migration paused the guest (it was running): a failed outcome must unpause it. */
  pausedByUs: boolean;
  throttleBefore: number;
}

const CONNECT_TIMEOUT_MS = 10_000;
const REPLY_TIMEOUT_MS = 30_000;
/** A write that cannot drain for this long means the link is gone. */
const STALL_TIMEOUT_MS = 30_000;
const PROGRESS_EVERY_MS = 100;

class Fault {
  constructor(readonly kind: string, readonly batch: number) {}

  static parse(text: string | undefined): Fault | undefined {
    const m = /^(corrupt-batch|close-mid-batch|hold-stopped):(\d+)$/.exec(text ?? "");
    return m ? new Fault(m[1]!, Number(m[2])) : undefined;
  }
}

export class OutgoingStream {
  private socket?: Socket;
  private failure?: Error;
  private readonly waiters = new Set<(error: Error) => void>();
  private readonly replies: SmallFrame[] = [];
  private replyWaiter?: () => void;
  private readonly mem: GuestMemory;
  private needDrain = false;
  private drainWaiter?: () => void;
  private readonly nrPages: number;
  private readonly table: Uint32Array;
  private readonly policy: PrecopyPolicy;
  private readonly fault?: Fault;
  // figures
  private readonly startedAt = performance.now();
  private setupMs = 0;
  private stoppedAt?: number;
  private stoppedAtEpoch?: number;
  private transferred = 0;
  private zeroPages = 0;
  private normalPages = 0;
  private round = 0;
  private remaining = 0;
  private dirtyRate = 0;
  private phase = "setup";
  private expectedDowntimeMs = 0;
  private switchover?: string;
  private lastProgress = 0;
  private batches = 0;
  // bandwidth limit (token bucket over the whole stream)
  private limitStart = 0;
  private limitBytes = 0;

  constructor(
    private readonly guest: SimGuest,
    private readonly options: SendOptions,
    private readonly report: (progress: MigrationProgress) => void,
    private readonly log: (line: string) => void,
  ) {
    this.mem = guest.mem;
    // Pages at or above the balloon target are zero and stay so: the stream covers the rest.
    this.nrPages = Math.min(guest.mem.nrPages, Math.ceil(guest.targetKiB / 4));
    this.table = crcTable(this.nrPages);
    this.policy = new PrecopyPolicy({
      maxDowntimeMs: options.maxDowntimeMs, maxIterations: options.maxIterations, maxFactor: options.maxFactor, autoConverge: options.autoConverge,
    });
    this.fault = Fault.parse(options.fault);
  }

  /** True once the guest was stopped for the switch-over (or for a migration that is not live). */
  get stopped(): boolean {
    return this.stoppedAt !== undefined;
  }

  /** Decides the destination's COMMIT (see {@link settleWith}). */
  private decide?: () => boolean;
  /** A COMMIT that came before {@link settleWith} (it may share a read with VERIFIED). */
  private commitAsked = false;
  private settling = false;
  private released = false;

  /**
   * After run() resolved: `decide` answers the destination's COMMIT, now if it came already. True
   * gives the guest up for good (the answer is COMMITTED); false (the guest resumed here) answers
   * RESUMED. Called by the runner.
   */
  settleWith(decide: () => boolean): void {
    this.decide = decide;
    if (this.commitAsked) this.answerCommit();
  }

  /**
   * Ends the commit exchange: `resumed` tells the destination the guest runs here again (so a
   * COMMIT it sends later, or sent already, is refused), then the link closes.
   */
  release(resumed: boolean): void {
    if (this.released) return;
    this.released = true;
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    if (resumed) socket.end(frame(Frame.RESUMED));
    else socket.end();
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  private answerCommit(): void {
    if (this.released) return;
    const ok = this.decide!();
    this.socket?.write(frame(ok ? Frame.COMMITTED : Frame.RESUMED));
    if (!ok) this.release(false);
    else this.released = true;
  }

  /** Stops the stream (the run() promise rejects with `error`). */
  abort(error: Error): void {
    if (this.settling) return;
    if (this.failure) return;
    this.failure = error;
    this.socket?.destroy();
    for (const w of this.waiters) w(error);
    this.waiters.clear();
    this.replyWaiter?.();
    this.scratchWaiter?.();
  }

  async run(): Promise<SendResult> {
    const guest = this.guest;
    const throttleBefore = guest.throttle;
    const wasPaused = guest.isPaused;
    let pausedByUs = false;
    try {
      await this.connect();
      this.setupMs = performance.now() - this.startedAt;
      this.phase = "precopy";
      this.limitStart = performance.now();
      this.limitBytes = this.transferred;
      if (!this.options.live) {
        pausedByUs = this.stop();
        this.switchover = "not live: stopped from the start";
      } else if (wasPaused) this.switchover = "the guest was paused";
      this.mem.clearDirty();
      await this.sendRound(1, rangeSource(0, this.nrPages), this.stoppedAt !== undefined);
      let round = 1;
      while (this.stoppedAt === undefined) {
        this.requireAlive();
        const roundStart = this.roundStartedAt;
        const roundBytes = this.transferred - this.roundStartBytes;
        const dirty = this.takeDirty();
        const roundMs = performance.now() - roundStart;
        this.dirtyRate = roundMs > 0 ? (dirty.length * 1000) / roundMs : 0;
        this.remaining = dirty.length;
        this.send(frame(Frame.ROUND, u32s(round, dirty.length)));
        const d = this.policy.afterRound({
          round, dirtyPages: dirty.length, pageSize: PAGE_SIZE, roundBytes, roundMs, totalBytes: this.transferred, memoryBytes: this.nrPages * PAGE_SIZE,
        });
        this.expectedDowntimeMs = d.expectedDowntimeMs;
        if (d.throttle !== guest.throttle) {
          guest.setThrottle(d.throttle);
          this.log(`migration: round ${round} dirtied ${dirty.length} pages; vCPUs throttled to ${d.throttle}%`);
        }
        if (d.stop) {
          this.switchover = d.reason;
          this.log(`migration: stop-and-copy after round ${round}: ${d.reason}`);
          // Pages dirtied during the pause are collected below with the ones already found.
          pausedByUs = this.stop();
          this.pending = dirty;
          break;
        }
        round++;
        await this.sendRound(round, listSource(dirty), false);
      }
      this.phase = "stop-and-copy";
      if (this.fault?.kind === "hold-stopped") await this.holdStopped();
      const last = this.pending ?? [];
      this.pending = undefined;
      const final = mergeSorted(last, this.takeDirty());
      this.remaining = final.length;
      // A guest stopped before the first round (non-live, or paused by its owner) has nothing left.
      if (final.length > 0 || (this.options.live && !wasPaused)) await this.sendRound(++round, listSource(final), true);
      this.round = round;
      this.remaining = 0;
      this.send(frame(Frame.VCPUS, Buffer.from(JSON.stringify(guest.vcpuState()), "utf8")));
      const digest = tableDigest(this.table);
      this.send(frame(Frame.END, Buffer.concat([u32s(round, this.nrPages), digest])));
      this.phase = "verifying";
      this.progress(true);
      await this.drained();
      const reply = await this.nextReply(REPLY_TIMEOUT_MS, "the destination's verification");
      if (reply.type !== Frame.VERIFIED) throw new ProtocolError(`expected VERIFIED, got frame type ${reply.type}`);
      if (!reply.body.equals(digest)) throw new ProtocolError("the destination's memory digest differs from the source's");
      this.phase = "completed";
      const stats = this.stats("completed");
      // The link stays open for the destination's COMMIT (answered by onCommit) until release().
      this.settling = true;
      return { stats, pausedByUs, throttleBefore };
    } catch (error) {
      const e = this.failure ?? (error as Error);
      this.socket?.destroy();
      if (pausedByUs && guest.life === "running" && guest.isPaused) guest.unpause();
      if (guest.life === "running" && guest.throttle !== throttleBefore) guest.setThrottle(throttleBefore);
      throw e;
    }
  }

  private pending?: number[];
  private roundStartedAt = performance.now();
  private roundStartBytes = 0;

  stats(status: MigrationStats["status"]): MigrationStats {
    const now = performance.now();
    const totalTimeMs = now - this.startedAt;
    const s: MigrationStats = {
      status,
      totalTimeMs: Math.round(totalTimeMs),
      downtimeMs: this.stoppedAt !== undefined ? Math.round(now - this.stoppedAt) : 0,
      setupTimeMs: Math.round(this.setupMs),
      transferredBytes: this.transferred,
      remainingBytes: this.remaining * PAGE_SIZE,
      totalBytes: this.nrPages * PAGE_SIZE,
      zeroPages: this.zeroPages,
      normalPages: this.normalPages,
      rounds: this.round,
      throughputMbps: totalTimeMs > 0 ? (this.transferred * 8) / (totalTimeMs / 1000) / 1e6 : 0,
      dirtyPagesRate: Math.round(this.dirtyRate),
      throttlePercent: this.guest.throttle,
    };
    if (this.stoppedAtEpoch !== undefined) s.stoppedAtEpochMs = this.stoppedAtEpoch;
    if (this.switchover) s.switchover = this.switchover;
    return s;
  }

  private progress(force = false): void {
    const now = performance.now();
    if (!force && now - this.lastProgress < PROGRESS_EVERY_MS) return;
    this.lastProgress = now;
    const total = Math.max(1, this.nrPages);
    const percent = this.phase === "verifying" ? 100 : Math.max(0, Math.min(99, Math.floor(((total - this.remaining) / total) * 100)));
    this.report({
      ...this.stats("active"),
      round: this.round,
      remainingPages: this.remaining,
      percent,
      phase: this.phase,
      expectedDowntimeMs: Math.round(Number.isFinite(this.expectedDowntimeMs) ? this.expectedDowntimeMs : -1),
    });
  }

  private requireAlive(): void {
    if (this.failure) throw this.failure;
    if (this.guest.life !== "running") throw new Error(`the guest stopped (${this.guest.life}) during the migration`);
  }

  /** Parks the vCPUs for the switch-over; true if this paused the guest (it was running). */
  private stop(): boolean {
    this.requireAlive();
    const pausing = !this.guest.isPaused;
    if (pausing) this.guest.pause();
    this.stoppedAt = performance.now();
    this.stoppedAtEpoch = performance.timeOrigin + this.stoppedAt;
    return pausing;
  }

  /** Dirty pages below the stream's end, in order, clearing the log. */
  private takeDirty(): number[] {
    const words = new Uint32Array(this.mem.takeDirty().buffer);
    const out: number[] = [];
    const limit = this.nrPages;
    for (let w = 0; w < words.length; w++) {
      let v = words[w]!;
      while (v !== 0) {
        const bit = 31 - Math.clz32(v & -v);
        const pfn = w * 32 + bit;
        if (pfn < limit) out.push(pfn);
        v &= v - 1;
      }
    }
    return out;
  }

  // ---- connection --------------------------------------------------------------------------

  private connect(): Promise<void> {
    const token = Buffer.from(this.options.token, "hex");
    if (token.length !== TOKEN_BYTES) throw new ProtocolError(`the migration token must be ${TOKEN_BYTES} bytes`);
    return new Promise<void>((resolve, reject) => {
      const socket = connect({ host: this.options.host, port: this.options.port });
      this.socket = socket;
      socket.setNoDelay(true);
      const timer = setTimeout(() => this.abort(new Error(`no answer from ${this.options.host}:${this.options.port} within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      this.waiters.add(fail);
      socket.on("error", (error) => this.abort(new Error(`link to ${this.options.host}:${this.options.port}: ${error.message}`)));
      socket.on("drain", () => {
        this.needDrain = false;
        this.drainWaiter?.();
      });
      socket.on("close", () => {
        if (!this.settling) this.abort(new Error("the destination closed the migration stream"));
      });
      const reader = new SmallFrameReader();
      socket.on("data", (chunk: Buffer) => {
        let frames: SmallFrame[];
        try {
          frames = reader.push(chunk);
        } catch (error) {
          return this.abort(error as Error);
        }
        for (const f of frames) {
          if (f.type === Frame.COMMIT) {
            // Only after VERIFIED; answered once the runner said how (settleWith).
            if (this.decide) this.answerCommit();
            else this.commitAsked = true;
            continue;
          }
          if (this.settling) continue;
          if (f.type === Frame.ERROR) return this.abort(new Error(`the destination refused the stream: ${f.body.toString("utf8")}`));
          this.replies.push(f);
        }
        this.replyWaiter?.();
      });
      socket.once("connect", () => {
        socket.write(frame(Frame.HELLO, helloBody(this.nrPages, PAGE_SIZE, token)));
        this.nextReply(REPLY_TIMEOUT_MS, "the destination's welcome").then((f) => {
          clearTimeout(timer);
          this.waiters.delete(fail);
          if (f.type !== Frame.WELCOME) return reject(new ProtocolError(`expected WELCOME, got frame type ${f.type}`));
          const version = f.body.readUInt32BE(0);
          if (version !== STREAM_VERSION) return reject(new ProtocolError(`the destination speaks stream version ${version}, not ${STREAM_VERSION}`));
          resolve();
        }, fail);
      });
    });
  }

  private nextReply(timeoutMs: number, what: string): Promise<SmallFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replyWaiter = undefined;
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (this.replies.length > 0) {
          clearTimeout(timer);
          this.replyWaiter = undefined;
          resolve(this.replies.shift()!);
        } else if (this.failure) {
          clearTimeout(timer);
          this.replyWaiter = undefined;
          reject(this.failure);
        }
      };
      this.replyWaiter = check;
      check();
    });
  }

  // ---- sending -------------------------------------------------------------------------------

  private send(buf: Uint8Array, written?: () => void): void {
    this.transferred += buf.byteLength;
    if (!this.socket!.write(buf, written)) this.needDrain = true;
  }

  private readonly scratch: { buf: Buffer; busy: boolean }[] = [];
  private scratchWaiter?: () => void;

  /**
   * Copies the views into a free scratch buffer (waiting for one the socket is done with);
   * `release` frees it once its write completed.
   */
  private async gather(views: Buffer[]): Promise<{ data: Buffer; release: () => void }> {
    const size = MAX_BATCH_PAGES * PAGE_SIZE;
    let slot = this.scratch.find((s) => !s.busy);
    if (!slot && this.scratch.length < SCRATCH_BUFFERS) {
      slot = { buf: Buffer.alloc(size), busy: false };
      this.scratch.push(slot);
    }
    while (!slot) {
      await new Promise<void>((resolve) => (this.scratchWaiter = resolve));
      if (this.failure) throw this.failure;
      slot = this.scratch.find((s) => !s.busy);
    }
    const taken = slot;
    taken.busy = true;
    let at = 0;
    for (const v of views) {
      taken.buf.set(v, at);
      at += v.length;
    }
    return {
      data: taken.buf.subarray(0, at),
      release: () => {
        taken.busy = false;
        this.scratchWaiter?.();
      },
    };
  }

  /** Resolves once the socket has room again (it may have drained while this side slept). */
  private drained(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.needDrain) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.abort(new Error(`the link stalled: nothing could be sent for ${STALL_TIMEOUT_MS / 1000} s`)), STALL_TIMEOUT_MS);
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.waiters.delete(done);
        this.drainWaiter = undefined;
        if (error) reject(error);
        else resolve();
      };
      this.drainWaiter = () => done();
      this.waiters.add(done);
    });
  }


  private async limitRate(): Promise<void> {
    const rate = this.options.maxBandwidth;
    if (rate <= 0) return;
    const ahead = (this.transferred - this.limitBytes) / rate * 1000 - (performance.now() - this.limitStart);
    if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
    if (this.failure) throw this.failure;
  }

  /** Sends one round: every page `next()` yields, in batches; zero pages as runs. */
  private async sendRound(round: number, next: () => number, stopped: boolean): Promise<void> {
    this.round = round;
    this.roundStartedAt = performance.now();
    this.roundStartBytes = this.transferred;
    const bytes = this.mem.bytes;
    const memory = this.mem.buffers.memory;
    const pfns = new Uint32Array(MAX_BATCH_PAGES);
    const crcs = new Uint32Array(MAX_BATCH_PAGES);
    let runs: number[] = [];
    const flags = stopped ? FLAG_STOPPED : 0;
    const flushZeros = () => {
      if (runs.length === 0) return;
      this.send(zeroFrame(round, runs));
      runs = [];
    };
    const zero = (pfn: number) => {
      this.table[pfn] = ZERO_PAGE_CRC;
      this.zeroPages++;
      const n = runs.length;
      if (n > 0 && runs[n - 2]! + runs[n - 1]! === pfn) runs[n - 1]!++;
      else {
        if (n / 2 >= MAX_ZERO_RUNS) flushZeros();
        runs.push(pfn, 1);
      }
    };
    let pfn = next();
    const leftAtStart = this.remaining;
    let sentInRound = 0;
    while (pfn >= 0) {
      if (this.failure) throw this.failure;
      let count = 0;
      while (count < MAX_BATCH_PAGES && pfn >= 0) {
        sentInRound++;
        if (!this.mem.isPopulated(pfn)) zero(pfn);
        else {
          const off = pfn * PAGE_SIZE;
          const c = crc32(bytes.subarray(off, off + PAGE_SIZE));
          if (c === ZERO_PAGE_CRC && isZeroPage(bytes, off)) zero(pfn);
          else {
            pfns[count] = pfn;
            crcs[count] = c;
            this.table[pfn] = c;
            count++;
          }
        }
        pfn = next();
      }
      if (count > 0) {
        this.normalPages += count;
        this.batches++;
        const header = pagesHeader(round, pfns, crcs, count, flags);
        let views = pageViews(memory, pfns, count);
        // This batch was prepared while the previous one drained: wait for room only now.
        await this.drained();
        // Scattered pages: one copy into a scratch buffer costs less than a write per page.
        let release: (() => void) | undefined;
        if (views.length > GATHER_ABOVE_RUNS) {
          const gathered = await this.gather(views);
          views = [gathered.data];
          release = gathered.release;
        }
        if (this.fault?.batch === this.batches) await this.injectFault(header, views);
        // Separate writes, not cork()/writev: Bun's node:net joins corked chunks with
        // Buffer.concat, a copy of every page (measured: most of the sender's time).
        this.send(header);
        for (const v of views) this.send(v, release);
        // A bandwidth limit holds the round until its bytes would have gone at that rate.
        await this.limitRate();
      }
      this.remaining = round === 1 ? this.nrPages - sentInRound : Math.max(0, leftAtStart - sentInRound);
      this.progress();
    }
    await this.drained();
    flushZeros();
    this.progress();
  }

  /**
   * Test fault `hold-stopped:0`: the switch-over stops here, the guest paused, until the stream is
   * aborted (a test kills an xend meanwhile; the log line tells it the guest is stopped).
   */
  private async holdStopped(): Promise<void> {
    this.progress(true);
    this.log("migration: test fault hold-stopped: holding the switch-over with the guest stopped");
    await new Promise<void>((_resolve, reject) => this.waiters.add(reject));
  }

  private async injectFault(header: Buffer, views: Buffer[]): Promise<void> {
    const f = this.fault!;
    this.log(`migration: test fault ${f.kind} in batch ${f.batch}`);
    if (f.kind === "corrupt-batch") {
      // The bytes go out changed after their checksum was taken, as a bad link would change them.
      const last = views.length - 1;
      const copy = Buffer.from(views[last]!);
      copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
      views[last] = copy;
      return;
    }
    const socket = this.socket!;
    socket.write(header);
    const first = views[0]!;
    await new Promise((resolve) => socket.write(first.subarray(0, Math.max(1, first.length >> 1)), resolve));
    socket.destroy();
    throw new Error(`test fault: the link was closed in the middle of batch ${f.batch}`);
  }
}

/** Views of guest memory for the pages of a batch, one per run of consecutive frames. */
/** Batches with more runs of consecutive pages than this are gathered into one buffer. */
const GATHER_ABOVE_RUNS = 8;
const SCRATCH_BUFFERS = 4;

function pageViews(memory: SharedArrayBuffer, pfns: Uint32Array, count: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < count) {
    let j = i + 1;
    while (j < count && pfns[j] === pfns[j - 1]! + 1) j++;
    out.push(Buffer.from(memory, pfns[i]! * PAGE_SIZE, (j - i) * PAGE_SIZE));
    i = j;
  }
  return out;
}

function rangeSource(from: number, to: number): () => number {
  let next = from;
  return () => (next < to ? next++ : -1);
}

function listSource(list: number[]): () => number {
  let i = 0;
  return () => (i < list.length ? list[i++]! : -1);
}

function mergeSorted(a: number[], b: number[]): number[] {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}

export { POLICY_DEFAULTS };
