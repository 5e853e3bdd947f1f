import { describe, expect, it } from "vitest";
import { Control, G, R, REG_NAMES } from "../../src/hypervisor/sim/control.ts";
import { allocateControl } from "../../src/hypervisor/sim/control.ts";
import { GuestMemory, PAGE_SIZE, bitmapToPfns } from "../../src/hypervisor/sim/memory.ts";
import {
  COUNTER_ADDRESS,
  boot,
  counterFromPage,
  isBooted,
  parseMemwriterParams,
  parseSize,
  programFor,
  readCounter,
  type ProgramContext,
} from "../../src/hypervisor/sim/programs.ts";
import { XvmError } from "../../src/errors.ts";
import { BlockDevices, allocateBlockTable } from "../../src/hypervisor/sim/blockdev.ts";

function fill(mem: GuestMemory, pfn: number, byte: number): void {
  mem.page(pfn).fill(byte);
  mem.markWritten(pfn);
}

describe("guest memory", () => {
  it("is a whole number of 4 KiB pages on a SharedArrayBuffer", () => {
    const mem = GuestMemory.allocate(100);
    expect(mem.nrPages).toBe(100);
    expect(mem.bytes.byteLength).toBe(100 * PAGE_SIZE);
    expect(mem.buffers.memory).toBeInstanceOf(SharedArrayBuffer);
    // 100 pages need 4 words of 32 bits
    expect(mem.dirtyWords.length).toBe(4);
    expect(() => GuestMemory.allocate(0)).toThrow(RangeError);
  });

  it("reads and writes whole pages, in the order asked", () => {
    const mem = GuestMemory.allocate(8);
    const data = new Uint8Array(2 * PAGE_SIZE);
    data.fill(7, 0, PAGE_SIZE);
    data.fill(9, PAGE_SIZE);
    mem.writePages([5, 2], data);
    const back = mem.readPages([2, 5, 0]);
    expect(back[0]).toBe(9);
    expect(back[PAGE_SIZE + 10]).toBe(7);
    expect(back.subarray(2 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
    expect(() => mem.readPages([8])).toThrow(/outside guest memory/);
    expect(() => mem.writePages([1], new Uint8Array(10))).toThrow(/need 4096 bytes/);
  });
});

describe("dirty-page bitmap (log-dirty)", () => {
  it("records every written page and clears on read", () => {
    const mem = GuestMemory.allocate(70);
    fill(mem, 0, 1);
    fill(mem, 31, 1);
    fill(mem, 32, 1);
    fill(mem, 69, 1);
    fill(mem, 69, 2);
    expect(mem.countDirty()).toBe(4);
    const first = mem.takeDirty();
    expect(bitmapToPfns(first)).toEqual([0, 31, 32, 69]);
    // bit n = bit (n & 7) of byte (n >> 3)
    expect(first[69 >> 3]! & (1 << (69 & 7))).not.toBe(0);
    expect(mem.countDirty()).toBe(0);
    expect(bitmapToPfns(mem.takeDirty())).toEqual([]);
    fill(mem, 40, 3);
    expect(bitmapToPfns(mem.takeDirty())).toEqual([40]);
  });

  it("clearDirty forgets everything (start of log-dirty mode) but not what is populated", () => {
    const mem = GuestMemory.allocate(40);
    fill(mem, 3, 1);
    mem.clearDirty();
    expect(mem.countDirty()).toBe(0);
    expect(mem.isPopulated(3)).toBe(true);
    expect(mem.countPopulated()).toBe(1);
  });

  it("bitmapToPfns stops at a limit", () => {
    expect(bitmapToPfns(Uint8Array.of(0xff, 0x01), 9)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(bitmapToPfns(Uint8Array.of(0xff, 0x01), 4)).toEqual([0, 1, 2, 3]);
  });
});

describe("balloon release", () => {
  it("zeroes only populated pages at or above the target, marks them dirty, keeps the rest", () => {
    const mem = GuestMemory.allocate(64);
    for (const pfn of [1, 20, 40, 63]) fill(mem, pfn, 0xab);
    mem.takeDirty();
    const zeroed = mem.release(32, 64);
    expect(zeroed).toBe(2);
    expect(mem.page(40).every((b) => b === 0)).toBe(true);
    expect(mem.page(63).every((b) => b === 0)).toBe(true);
    expect(mem.page(20).every((b) => b === 0xab)).toBe(true);
    expect(mem.page(1)[0]).toBe(0xab);
    expect(bitmapToPfns(mem.takeDirty())).toEqual([40, 63]);
    expect(mem.isPopulated(40)).toBe(false);
    expect(mem.countPopulated()).toBe(2);
    expect(mem.release(32, 64)).toBe(0);
  });
});

describe("control block", () => {
  it("keeps registers as unsigned 64-bit decimal strings and restores them", () => {
    const ctl = new Control(allocateControl());
    ctl.setReg(2, "rip", 12345n);
    ctl.setReg(2, "rax", -1n);
    const regs = ctl.regsOf(2);
    expect(Object.keys(regs)).toEqual([...REG_NAMES]);
    expect(regs.rip).toBe("12345");
    expect(regs.rax).toBe("18446744073709551615");
    const other = new Control(allocateControl());
    other.setRegsOf(0, regs);
    expect(other.reg(0, "rax")).toBe(-1n);
    expect(other.regsOf(0)).toEqual(regs);
    expect(R.rip).toBe(0);
  });

  it("waitState returns as soon as the condition holds and false on timeout", () => {
    const ctl = new Control(allocateControl());
    expect(ctl.waitState(() => true, 10)).toBe(true);
    expect(ctl.waitState(() => false, 5)).toBe(false);
  });
});

function context(mem: GuestMemory, ctl: Control, out: string[] = []): ProgramContext {
  return { vcpu: 0, mem, ctl, console: (t) => out.push(t), shouldYield: () => false, block: new BlockDevices(allocateBlockTable()) };
}

describe("guest programs", () => {
  it("boot writes the start-info page once", () => {
    const mem = GuestMemory.allocate(4);
    expect(isBooted(mem)).toBe(false);
    boot(mem, "sim:counter");
    expect(isBooted(mem)).toBe(true);
    expect(Buffer.from(mem.page(0).subarray(0, 8)).toString("latin1")).toBe("XVMSIM01");
    expect(mem.isDirty(0)).toBe(true);
    expect(COUNTER_ADDRESS).toBe(0x10);
  });

  it("sim:counter counts 10 ms ticks of guest time, keeps sub-tick time in rdx, prints a heartbeat every 100", () => {
    const mem = GuestMemory.allocate(4);
    const ctl = new Control(allocateControl());
    boot(mem, "sim:counter");
    const out: string[] = [];
    const program = programFor("sim:counter", "", 4 * PAGE_SIZE);
    const ctx = context(mem, ctl, out);
    program.step(ctx, 25_000);
    expect(readCounter(mem)).toBe(2n);
    expect(ctl.reg(0, "rdx")).toBe(5_000n);
    program.step(ctx, 5_000);
    expect(readCounter(mem)).toBe(3n);
    for (let i = 0; i < 97; i++) program.step(ctx, 10_000);
    expect(readCounter(mem)).toBe(100n);
    expect(out).toEqual(["heartbeat 100\n"]);
    expect(counterFromPage(mem.readPages([0]))).toBe(100n);
    expect(ctl.reg(0, "rax")).toBe(100n);
  });

  it("sim:memwriter dirties rate * time within its working set, below the balloon target", () => {
    const pages = 1024;
    const mem = GuestMemory.allocate(pages);
    const ctl = new Control(allocateControl());
    ctl.set(G.TARGET_PAGES, pages);
    boot(mem, "sim:memwriter");
    mem.takeDirty();
    const program = programFor("sim:memwriter", "rate=4M wss=1M", pages * PAGE_SIZE);
    // 4 MiB/s for 10 ms = 10.24 pages: 10 now, the rest carried
    program.step(context(mem, ctl), 10_000);
    expect(bitmapToPfns(mem.takeDirty())).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // a working set of 1 MiB = 256 pages: after many slices only pfns 1..256 (+ the header) were written
    for (let i = 0; i < 100; i++) program.step(context(mem, ctl), 10_000);
    const dirty = bitmapToPfns(mem.takeDirty());
    expect(Math.max(...dirty)).toBe(256);
    expect(dirty.length).toBe(257);
    // balloon target of 64 pages: writes stay below it
    ctl.set(G.TARGET_PAGES, 64);
    for (let i = 0; i < 50; i++) program.step(context(mem, ctl), 10_000);
    expect(Math.max(...bitmapToPfns(mem.takeDirty()))).toBeLessThan(64);
  });

  it("parses sizes and memwriter parameters, rejecting bad ones", () => {
    expect(parseSize("64M")).toBe(64 * 2 ** 20);
    expect(parseSize("512k")).toBe(512 * 1024);
    expect(parseSize("1G")).toBe(2 ** 30);
    expect(parseSize("4096")).toBe(4096);
    expect(parseSize("fast")).toBeUndefined();
    expect(parseMemwriterParams("root=/dev/xvda rate=32M wss=8M quiet", 2 ** 30)).toEqual({ rate: 32 * 2 ** 20, wss: 8 * 2 ** 20 });
    expect(parseMemwriterParams("", 16 * 2 ** 20)).toEqual({ rate: 64 * 2 ** 20, wss: 16 * 2 ** 20 });
    expect(parseMemwriterParams("rate=max", 2 ** 30).rate).toBe(0);
    expect(() => parseMemwriterParams("rate=lots", 2 ** 30)).toThrow(XvmError);
    expect(() => programFor("/boot/vmlinuz", "", 2 ** 20)).toThrow(/not a simulated guest program/);
  });
});
