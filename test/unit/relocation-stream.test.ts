/**
 * The runner-to-runner memory stream in one process, over real TCP on 127.0.0.1, with guests whose
 * memory is real guest memory (GuestMemory) and whose vCPUs are a timer that writes pages while
 * the guest is not paused. Also hand-made streams, fed one byte per write, for the receiver's
 * checks.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { MigrationProgress, VcpuState } from "../../src/hypervisor/driver.ts";
import type { SimGuest } from "../../src/hypervisor/sim/guest.ts";
import { GuestMemory, PAGE_SIZE } from "../../src/hypervisor/sim/memory.ts";
import { ZERO_PAGE_CRC, crc32, crcTable, tableDigest } from "../../src/hypervisor/sim/migration/checksum.ts";
import { IncomingStream } from "../../src/hypervisor/sim/migration/receiver.ts";
import { OutgoingStream, type SendOptions } from "../../src/hypervisor/sim/migration/sender.ts";
import { Frame, frame, helloBody, pagesHeader, u32s, zeroFrame } from "../../src/hypervisor/sim/migration/wire.ts";
import { waitFor } from "../helpers/cli.ts";

/** What the streams use of a SimGuest. */
class FakeGuest {
  readonly mem: GuestMemory;
  life: "running" | "shutdown" = "running";
  throttle = 0;
  isPaused: boolean;
  vcpus: VcpuState[] = [{ number: 0, regs: { rip: "1234", rax: "99" } }];
  private writer?: ReturnType<typeof setInterval>;

  constructor(readonly pages: number, paused = false) {
    this.mem = GuestMemory.allocate(pages);
    this.isPaused = paused;
  }

  get targetKiB(): number {
    return this.pages * 4;
  }

  pause(): { stoppedMs: number } {
    this.isPaused = true;
    return { stoppedMs: 0 };
  }

  unpause(): void {
    this.isPaused = false;
  }

  setThrottle(p: number): void {
    this.throttle = p;
  }

  vcpuState(): VcpuState[] {
    return this.vcpus;
  }

  setVcpuState(states: VcpuState[]): void {
    this.vcpus = states;
  }

  /** Fills `count` pages from `first` with random bytes (marks them written). */
  fill(first: number, count: number): void {
    const pfns = Array.from({ length: count }, (_, i) => first + i);
    this.mem.writePages(pfns, randomBytes(count * PAGE_SIZE));
  }

  /** A "vCPU": rewrites `perTick` pages of [from, to) every ms while the guest is not paused. */
  startWriter(from: number, to: number, perTick: number): void {
    let next = from;
    let last = performance.now();
    this.writer = setInterval(() => {
      // perTick pages per elapsed millisecond, so that a loaded machine (timers firing late) does
      // not turn a fast writer into a slow one; one pass over the range is as dirty as it gets.
      const now = performance.now();
      const count = Math.min(to - from, Math.round(perTick * Math.max(1, now - last)));
      last = now;
      if (this.isPaused) return;
      for (let i = 0; i < count; i++) {
        const pfn = next;
        next = next + 1 >= to ? from : next + 1;
        const page = this.mem.page(pfn);
        page[0] = (page[0]! + 1) & 0xff;
        page[100] = i & 0xff;
        this.mem.markWritten(pfn);
      }
    }, 1);
  }

  stopWriter(): void {
    clearInterval(this.writer);
  }

  get sim(): SimGuest {
    return this as unknown as SimGuest;
  }
}

const open: { abort(e: Error): void }[] = [];
const fakes: FakeGuest[] = [];

afterEach(() => {
  for (const s of open.splice(0)) s.abort(new Error("test over"));
  for (const f of fakes.splice(0)) f.stopWriter();
});

function guest(pages: number, paused = false): FakeGuest {
  const g = new FakeGuest(pages, paused);
  fakes.push(g);
  return g;
}

async function receiver(dest: FakeGuest, token = randomBytes(16)): Promise<{ stream: IncomingStream; port: number; token: Buffer; log: string[] }> {
  const log: string[] = [];
  const stream = new IncomingStream(dest.sim, { bindAddress: "127.0.0.1", allowFrom: "127.0.0.1", token, timeoutMs: 5_000 }, (l) => log.push(l));
  open.push(stream);
  const at = await stream.listen();
  return { stream, port: at.port, token, log };
}

function sender(src: FakeGuest, port: number, token: Buffer, over: Partial<SendOptions> = {}, progress: MigrationProgress[] = []): OutgoingStream {
  const s = new OutgoingStream(src.sim, {
    host: "127.0.0.1", port, token: token.toString("hex"), live: true, maxDowntimeMs: 300, maxIterations: 29, maxFactor: 3,
    autoConverge: true, maxBandwidth: 0, ...over,
  }, (p) => progress.push(p), () => {});
  open.push(s);
  return s;
}

function sameMemory(a: FakeGuest, b: FakeGuest): boolean {
  return Buffer.from(a.mem.bytes).equals(Buffer.from(b.mem.bytes));
}

describe("memory stream", () => {
  it("moves a guest that keeps writing: rounds, zero pages as runs, same memory and vCPU state, source left paused", async () => {
    const src = guest(4096);
    src.fill(10, 600);
    src.fill(2000, 300);
    src.startWriter(10, 200, 40);
    const dst = guest(4096, true);
    const r = await receiver(dst);
    const progress: MigrationProgress[] = [];
    const out = await sender(src, r.port, r.token, { maxDowntimeMs: 1 }, progress).run();
    const got = await r.stream.done;
    expect(src.isPaused).toBe(true);
    expect(out.pausedByUs).toBe(true);
    expect(sameMemory(src, dst)).toBe(true);
    expect(dst.vcpus).toEqual(src.vcpus);
    expect(out.stats).toMatchObject({ status: "completed", remainingBytes: 0, totalBytes: 4096 * PAGE_SIZE });
    expect(out.stats.rounds).toBeGreaterThanOrEqual(2);
    expect(out.stats.normalPages).toBeGreaterThanOrEqual(900);
    expect(out.stats.zeroPages).toBeGreaterThanOrEqual(4096 - 900);
    expect(got).toMatchObject({ normalPages: out.stats.normalPages, zeroPages: out.stats.zeroPages });
    expect(out.stats.stoppedAtEpochMs).toBeGreaterThan(Date.now() - 60_000);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ phase: "verifying", percent: 100 });
  });

  it("zeroes a destination page the source zeroed since it was sent (a zero page as a mark)", async () => {
    const src = guest(256, true);
    src.fill(0, 256);
    const dst = guest(256, true);
    dst.fill(0, 256); // stale data the stream must replace
    src.mem.release(128, 256); // balloon: zeroed, unpopulated
    const r = await receiver(dst);
    const out = await sender(src, r.port, r.token, { live: false }).run();
    expect(out.pausedByUs).toBe(false);
    expect(out.stats.zeroPages).toBe(128);
    expect(sameMemory(src, dst)).toBe(true);
    expect(dst.mem.countPopulated()).toBe(128);
  });

  it("fails a corrupted batch sent with the guest stopped and resumes the source", async () => {
    const src = guest(2048);
    src.fill(0, 2048);
    const dst = guest(2048, true);
    const r = await receiver(dst);
    const s = sender(src, r.port, r.token, { live: false, fault: "corrupt-batch:2" });
    await expect(s.run()).rejects.toThrow(/the destination refused the stream: page 2047 failed its checksum \(crc [0-9a-f]{8}, expected [0-9a-f]{8}\) in a batch sent with the guest stopped|the destination closed the migration stream/);
    await expect(r.stream.done).rejects.toThrow("page 2047 failed its checksum");
    expect(src.isPaused).toBe(false);
  });

  it("fails when the link closes in the middle of a batch", async () => {
    const src = guest(2048);
    src.fill(0, 2048);
    const dst = guest(2048, true);
    const r = await receiver(dst);
    await expect(sender(src, r.port, r.token, { fault: "close-mid-batch:1" }).run()).rejects.toThrow("test fault: the link was closed in the middle of batch 1");
    await expect(r.stream.done).rejects.toThrow(/the source closed the migration stream before its end \(\d+ bytes received\)/);
    expect(src.isPaused).toBe(false);
  });

  it("refuses a source without the right token", async () => {
    const dst = guest(16, true);
    const r = await receiver(dst);
    const src = guest(16);
    await expect(sender(src, r.port, randomBytes(16)).run()).rejects.toThrow(/wrong migration token|closed the migration stream/);
    await expect(r.stream.done).rejects.toThrow("wrong migration token");
  });

  it("throttles a guest that dirties faster than the link and still finishes", async () => {
    const src = guest(2048);
    src.fill(0, 1024);
    src.startWriter(0, 1024, 100);
    const dst = guest(2048, true);
    const r = await receiver(dst);
    const out = await sender(src, r.port, r.token, { maxDowntimeMs: 1, maxBandwidth: 20 * 2 ** 20, maxIterations: 8 }).run();
    await r.stream.done;
    expect(sameMemory(src, dst)).toBe(true);
    expect(out.stats.rounds).toBeGreaterThanOrEqual(3);
    expect(out.stats.throttlePercent).toBeGreaterThanOrEqual(20);
  });
});

/** A hand-made stream, written one byte per write so every parser state sees split input. */
async function feed(port: number, parts: Buffer[]): Promise<Buffer> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.setNoDelay(true);
  const got: Buffer[] = [];
  let closed = false;
  socket.on("data", (d: Buffer) => got.push(d));
  socket.on("error", () => {});
  // The receiver ends the connection after ERROR; after VERIFIED it keeps it open for the commit
  // exchange (settle), so this source leaves once it has the answer.
  socket.on("end", () => (closed = true));
  socket.on("data", () => {
    if (Buffer.concat(got).includes(Buffer.from([0, 0, 0, 36, Frame.VERIFIED]))) closed = true;
  });
  socket.on("close", () => (closed = true));
  await new Promise((r) => socket.once("connect", r));
  const all = Buffer.concat(parts);
  for (let i = 0; i < all.length; i += 1) {
    if (socket.destroyed || closed) break;
    socket.write(all.subarray(i, i + 1));
    if (i % 512 === 0) await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => closed, "the receiver to answer and end the stream", 10_000).finally(() => socket.destroy());
  return Buffer.concat(got);
}

describe("the hand-over after VERIFIED (commit exchange between the runners)", () => {
  async function verifiedPair(): Promise<{ s: OutgoingStream; r: Awaited<ReturnType<typeof receiver>> }> {
    const src = guest(64);
    src.fill(0, 32);
    const dst = guest(64, true);
    const r = await receiver(dst);
    const s = sender(src, r.port, r.token, { live: false });
    await s.run();
    await r.stream.done;
    return { s, r };
  }

  it("commits when the source runner gives the guest up", async () => {
    const { s, r } = await verifiedPair();
    let asked = 0;
    const settled = r.stream.settle();
    // The COMMIT may come before the runner says how to answer it (one read with VERIFIED).
    await waitFor(() => (s as unknown as { commitAsked: boolean }).commitAsked, "the COMMIT to reach the source");
    s.settleWith(() => {
      asked++;
      return true;
    });
    await expect(settled).resolves.toEqual({ committed: true });
    expect(asked).toBe(1);
  });

  it("is refused when the source runner resumed the guest (its xend went away), before or after the COMMIT", async () => {
    const a = await verifiedPair();
    a.s.settleWith(() => false);
    await expect(a.r.stream.settle()).resolves.toMatchObject({ committed: false, why: expect.stringContaining("resumed at the source") });
    const b = await verifiedPair();
    b.s.settleWith(() => true);
    b.s.release(true); // resumed first: RESUMED is on its way before any COMMIT
    await expect(b.r.stream.settle()).resolves.toMatchObject({ committed: false, why: expect.stringContaining("resumed at the source") });
  });

  it("is refused when the link to the source is gone without an answer", async () => {
    const { s, r } = await verifiedPair();
    s.settleWith(() => true);
    s.release(false); // closed, nothing said: the destination must not run the guest
    await expect(r.stream.settle()).resolves.toMatchObject({ committed: false, why: expect.stringMatching(/closed the link before answering/) });
  });
});

describe("receiver checks (hand-made streams)", () => {
  const page = (byte: number) => Buffer.alloc(PAGE_SIZE, byte);

  function stream(token: Buffer, pages: number, body: (table: Uint32Array) => Buffer[]): Buffer[] {
    const table = crcTable(pages);
    const frames = body(table);
    const vcpus = frame(Frame.VCPUS, Buffer.from(JSON.stringify([{ number: 0, regs: { rip: "7" } }])));
    const end = frame(Frame.END, Buffer.concat([u32s(1, pages), tableDigest(table)]));
    return [frame(Frame.HELLO, helloBody(pages, PAGE_SIZE, token)), ...frames, vcpus, end];
  }

  it("assembles pages, zero runs and the end from input split at every byte", async () => {
    const dst = guest(8, true);
    dst.fill(5, 1);
    const r = await receiver(dst);
    const parts = stream(r.token, 8, (table) => {
      const a = page(0xaa);
      const b = page(0xbb);
      table[1] = crc32(a);
      table[2] = crc32(b);
      table[5] = ZERO_PAGE_CRC;
      return [pagesHeader(1, [1, 2], [crc32(a), crc32(b)], 2, 0), a, b, zeroFrame(1, [4, 2])];
    });
    const answer = await feed(r.port, parts);
    await r.stream.done;
    expect(dst.mem.page(1).every((x) => x === 0xaa)).toBe(true);
    expect(dst.mem.page(2).every((x) => x === 0xbb)).toBe(true);
    expect(dst.mem.page(5).every((x) => x === 0)).toBe(true);
    expect(dst.vcpus).toEqual([{ number: 0, regs: { rip: "7" } }]);
    // WELCOME (8-byte header, 8-byte body), then VERIFIED: its type byte follows its length.
    expect(answer[16 + 4]).toBe(Frame.VERIFIED);
  });

  it("fails at the end when a page failed its checksum and never came again", async () => {
    const dst = guest(8, true);
    const r = await receiver(dst);
    const parts = stream(r.token, 8, (table) => {
      const a = page(0x11);
      table[3] = crc32(a);
      return [pagesHeader(1, [3], [crc32(a) ^ 1], 1, 0), a];
    });
    await feed(r.port, parts);
    await expect(r.stream.done).rejects.toThrow("1 page(s) failed their checksum and were not sent again (first: page 3)");
  });

  it("accepts a torn page that a later round sent again", async () => {
    const dst = guest(8, true);
    const r = await receiver(dst);
    const parts = stream(r.token, 8, (table) => {
      const a = page(0x11);
      const b = page(0x22);
      table[3] = crc32(b);
      return [pagesHeader(1, [3], [crc32(a) ^ 1], 1, 0), a, pagesHeader(2, [3], [crc32(b)], 1, 0), b];
    });
    await feed(r.port, parts);
    await r.stream.done;
    expect(r.log.join("\n")).toContain("1 torn page(s) sent again");
  });

  it("refuses a page outside the announced memory, and a digest that differs", async () => {
    const d1 = guest(8, true);
    const r1 = await receiver(d1);
    await feed(r1.port, stream(r1.token, 8, () => [pagesHeader(1, [8], [0], 1, 0), page(0)]));
    await expect(r1.stream.done).rejects.toThrow("page frame 8 is outside the 8 pages announced");
    const d2 = guest(8, true);
    const r2 = await receiver(d2);
    await feed(r2.port, stream(r2.token, 8, (table) => {
      table[0] = 1; // the source claims a page it never sent
      return [];
    }));
    await expect(r2.stream.done).rejects.toThrow("the memory digest does not match the source's");
  });
});
