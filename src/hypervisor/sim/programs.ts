/**
 * The built-in guest programs a simulated vCPU runs, chosen by the domain's `kernel`.
 *
 * Guest memory layout shared by every program (page frame 0, the "start info" page; all numbers
 * little-endian). Dump readers and tests read the heartbeat counter from here:
 *
 *   0x00  8 bytes  magic "XVMSIM01" (written at first boot; its presence means "already booted", so a
 *                  guest whose memory arrived by migration carries on instead of booting again)
 *   0x08  u32      program id (1 idle, 2 counter, 3 memwriter, 4 busy, 5 disk)
 *   0x0c  u32      layout version (1)
 *   0x10  u64      heartbeat counter (sim:counter): +1 per 10 ms tick of guest time
 *   0x18  u64      pages written so far (sim:memwriter); sectors written to disk (sim:disk)
 *   0x20  u64[n]   microseconds of guest time each vCPU ran (sim:busy), vCPU n at 0x20 + 8n
 *
 * Programs keep the rest of their state in vCPU registers (see control.ts), never in JS variables,
 * so a paused, dumped or migrated guest resumes exactly where it stopped.
 *
 * The counter and the memory writer run on vCPU 0 (which vcpu-set never removes); the other vCPUs
 * of these programs idle, as the vCPUs of a mostly idle guest do. `sim:busy` keeps every online
 * vCPU computing all the time: the CPU-bound guest the credit scheduler (credit.ts) divides CPUs
 * between. Which vCPUs want the CPU all the time is {@link cpuBound}.
 *
 * `sim:disk` writes a known pattern to one of its virtual disks (blockdev.ts) each time that disk
 * appears (at boot, or hot-plugged by xm block-attach), reads it back and reports on the console:
 * `extra = "disk=xvdb sector=2 count=4"` (defaults: xvda, 0, 8). Sector s of pass p holds the line
 * `xvm-sim disk <vdev> sector <s> pass <p>` padded with dots to 511 bytes and a newline
 * ({@link diskSector}). A read-only disk refuses the write, and the console says so.
 *
 * Guest time only advances while a vCPU runs: a paused guest's counter stops, and a throttled one
 * (auto-converge) runs slower, as a real guest would.
 */
import { XvmError } from "../../errors.ts";
import { vbdNumber } from "../../formats/vbd.ts";
import { BlockError, SECTOR_SIZE, blockErrorName, type BlockDevices } from "./blockdev.ts";
import { G, type Control } from "./control.ts";
import { PAGE_SIZE, type GuestMemory } from "./memory.ts";

export const HEADER_PFN = 0;
export const MAGIC = "XVMSIM01";
export const OFF_PROGRAM = 0x08;
export const OFF_VERSION = 0x0c;
export const OFF_COUNTER = 0x10;
export const OFF_WRITTEN = 0x18;
/** Guest-physical address of the heartbeat counter. */
export const COUNTER_ADDRESS = HEADER_PFN * PAGE_SIZE + OFF_COUNTER;

export const TICK_US = 10_000;
/** The counter prints `heartbeat <n>` on the console every this many ticks (once a second). */
export const HEARTBEAT_EVERY = 100;

export const OFF_BUSY = 0x20;

export const KERNELS = ["sim:idle", "sim:counter", "sim:memwriter", "sim:busy", "sim:disk"] as const;
export type KernelName = (typeof KERNELS)[number];
const PROGRAM_IDS: Record<KernelName, number> = { "sim:idle": 1, "sim:counter": 2, "sim:memwriter": 3, "sim:busy": 4, "sim:disk": 5 };

export interface ProgramContext {
  readonly vcpu: number;
  readonly mem: GuestMemory;
  readonly ctl: Control;
  console(text: string): void;
  /** True when the vCPU must stop as soon as it can (pause, stop, offline). */
  shouldYield(): boolean;
  /** The guest's virtual disks (front end). */
  readonly block: BlockDevices;
}

export interface GuestProgram {
  /** Length of one timeslice; the vCPU is blocked for whatever part of it the program does not use. */
  readonly sliceMs: number;
  /** Runs `guestUs` microseconds of guest time (the slice minus the throttle share). */
  step(ctx: ProgramContext, guestUs: number): void;
}

export interface MemwriterParams {
  /** Bytes dirtied per second of guest time; 0 = as fast as the vCPU can. */
  rate: number;
  /** Working set in bytes (clipped to the memory below the balloon target, after page 0). */
  wss: number;
}

export function isKernel(kernel: string): kernel is KernelName {
  return (KERNELS as readonly string[]).includes(kernel);
}

/** `64M`, `512K`, `1G`, `4096` (binary units) -> bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const scale = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[m[2]!.toUpperCase() as "" | "K" | "M" | "G" | "T"];
  return Math.round(Number(m[1]) * scale);
}

/** Reads `rate=… wss=…` from a kernel command line; other words are left to the "kernel". */
export function parseMemwriterParams(extra: string, memoryBytes: number): MemwriterParams {
  const params: MemwriterParams = { rate: 64 * 2 ** 20, wss: Math.min(256 * 2 ** 20, memoryBytes) };
  for (const word of extra.split(/\s+/).filter(Boolean)) {
    const [key, value = ""] = word.split("=", 2) as [string, string?];
    if (key !== "rate" && key !== "wss") continue;
    const bytes = key === "rate" && (value === "max" || value === "0") ? 0 : parseSize(value);
    if (bytes === undefined || (key === "wss" && bytes < PAGE_SIZE)) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `extra: bad ${key} '${value}' for sim:memwriter (use e.g. rate=64M wss=256M; rate=max for no limit)` });
    }
    params[key] = bytes;
  }
  return params;
}

export interface DiskParams {
  /** Front-end name of the disk to write (`xvdb`) and its device number. */
  vdev: string;
  devid: number;
  /** First sector written, and how many. */
  sector: number;
  count: number;
}

/** At most this many sectors per pass (they are staged in guest memory twice: written, read back). */
export const DISK_MAX_COUNT = 2048;

/** Reads `disk=… sector=… count=…` from a kernel command line. */
export function parseDiskParams(extra: string): DiskParams {
  const params: DiskParams = { vdev: "xvda", devid: vbdNumber("xvda"), sector: 0, count: 8 };
  const bad = (detail: string): never => {
    throw new XvmError("DOMAIN_CONFIG", { detail: `extra: ${detail} for sim:disk (use e.g. disk=xvdb sector=0 count=8)` });
  };
  for (const word of extra.split(/\s+/).filter(Boolean)) {
    const [key, value = ""] = word.split("=", 2) as [string, string?];
    if (key === "disk") {
      const devid = vbdNumber(value);
      if (devid < 0) bad(`disk '${value}' is not a virtual device name`);
      params.vdev = value;
      params.devid = devid;
    } else if (key === "sector" || key === "count") {
      const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || (key === "count" && (n < 1 || n > DISK_MAX_COUNT))) bad(`bad ${key} '${value}'${key === "count" ? ` (1..${DISK_MAX_COUNT})` : ""}`);
      params[key] = n;
    }
  }
  return params;
}

/** Sector `sector` of pass `pass` as sim:disk writes it to disk `vdev`. */
export function diskSector(vdev: string, sector: number, pass: number): string {
  return `xvm-sim disk ${vdev} sector ${sector} pass ${pass}`.padEnd(SECTOR_SIZE - 1, ".") + "\n";
}

/** Validates a kernel and its command line before a runner is started for it. */
export function checkProgram(kernel: string, extra: string, memoryBytes: number): void {
  if (/(^|\/)hvmloader$/.test(kernel)) {
    throw new XvmError("DOMAIN_CONFIG", { detail: `kernel '${kernel}' is the HVM firmware loader: builder = 'hvm' guests need the qemu driver (svccfg -s xend setprop config/hypervisor = qemu)` });
  }
  if (!isKernel(kernel)) {
    throw new XvmError("DOMAIN_CONFIG", { detail: `kernel '${kernel}' is not a simulated guest program (choose one of ${KERNELS.join(", ")})` });
  }
  if (kernel === "sim:memwriter") parseMemwriterParams(extra, memoryBytes);
  if (kernel === "sim:disk") {
    const { count } = parseDiskParams(extra);
    if ((1 + 2 * Math.ceil((count * SECTOR_SIZE) / PAGE_SIZE)) * PAGE_SIZE > memoryBytes) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `extra: count=${count} needs more guest memory than sim:disk has` });
    }
  }
}

function header(mem: GuestMemory): DataView {
  return new DataView(mem.buffers.memory, HEADER_PFN * PAGE_SIZE, PAGE_SIZE);
}

export function isBooted(mem: GuestMemory): boolean {
  const page = mem.page(HEADER_PFN);
  for (let i = 0; i < MAGIC.length; i++) if (page[i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

/** First boot (done once, by vCPU 0): writes the start-info page. */
export function boot(mem: GuestMemory, kernel: KernelName): void {
  const page = mem.page(HEADER_PFN);
  for (let i = 0; i < MAGIC.length; i++) page[i] = MAGIC.charCodeAt(i);
  const h = header(mem);
  h.setUint32(OFF_PROGRAM, PROGRAM_IDS[kernel], true);
  h.setUint32(OFF_VERSION, 1, true);
  mem.markWritten(HEADER_PFN);
}

export function readCounter(mem: GuestMemory): bigint {
  return header(mem).getBigUint64(OFF_COUNTER, true);
}

/** Reads the heartbeat counter from a copy of page 0 (as readPages returns it). */
export function counterFromPage(page: Uint8Array): bigint {
  return new DataView(page.buffer, page.byteOffset, page.byteLength).getBigUint64(OFF_COUNTER, true);
}

const idle: GuestProgram = {
  sliceMs: 100,
  step() {},
};

function counter(): GuestProgram {
  return {
    sliceMs: 10,
    step(ctx, guestUs) {
      if (ctx.vcpu !== 0) return;
      // rdx: guest microseconds not yet turned into a tick.
      let acc = ctx.ctl.reg(0, "rdx") + BigInt(Math.round(guestUs));
      const ticks = acc / BigInt(TICK_US);
      if (ticks === 0n) {
        ctx.ctl.setReg(0, "rdx", acc);
        return;
      }
      acc -= ticks * BigInt(TICK_US);
      const h = header(ctx.mem);
      let value = h.getBigUint64(OFF_COUNTER, true);
      for (let i = 0n; i < ticks; i++) {
        value++;
        if (value % BigInt(HEARTBEAT_EVERY) === 0n) ctx.console(`heartbeat ${value}\n`);
      }
      h.setBigUint64(OFF_COUNTER, value, true);
      ctx.mem.markWritten(HEADER_PFN);
      ctx.ctl.setReg(0, "rax", value);
      ctx.ctl.setReg(0, "rdx", acc);
    },
  };
}

function memwriter(params: MemwriterParams): GuestProgram {
  return {
    sliceMs: 10,
    step(ctx, guestUs) {
      if (ctx.vcpu !== 0) return;
      const { mem, ctl } = ctx;
      const words = new BigUint64Array(mem.buffers.memory);
      const top = Math.min(mem.nrPages, ctl.get(G.TARGET_PAGES));
      const wssPages = Math.max(1, Math.min(Math.floor(params.wss / PAGE_SIZE), top - 1));
      if (top < 2) return;
      // rsi: next page of the working set; rcx: pages written (also the value written);
      // rdx: bytes of budget carried over to the next slice.
      let next = Number(ctl.reg(0, "rsi")) % wssPages;
      let seq = ctl.reg(0, "rcx");
      const sliceBudget = (params.rate * TICK_US) / 1e6;
      let budget = params.rate === 0 ? Infinity : Number(ctl.reg(0, "rdx")) + (params.rate * guestUs) / 1e6;
      const until = performance.now() + guestUs / 1000;
      let written = 0;
      while (budget >= PAGE_SIZE) {
        if ((written & 255) === 255 && (ctx.shouldYield() || (params.rate === 0 && performance.now() >= until))) break;
        const pfn = 1 + next;
        seq++;
        words[pfn * (PAGE_SIZE / 8) + Number(seq & 511n)] = seq;
        mem.markWritten(pfn);
        next = next + 1 === wssPages ? 0 : next + 1;
        budget -= PAGE_SIZE;
        written++;
      }
      if (written > 0) {
        const h = header(mem);
        h.setBigUint64(OFF_WRITTEN, h.getBigUint64(OFF_WRITTEN, true) + BigInt(written), true);
        mem.markWritten(HEADER_PFN);
      }
      ctl.setReg(0, "rsi", BigInt(next));
      ctl.setReg(0, "rcx", seq);
      ctl.setReg(0, "rax", BigInt(written));
      ctl.setReg(0, "rdx", BigInt(Math.floor(Number.isFinite(budget) ? Math.min(budget, sliceBudget) : 0)));
    },
  };
}

/** Every online vCPU computes for its whole budget; each adds the guest time it ran at 0x20 + 8n. */
const busy: GuestProgram = {
  sliceMs: 10,
  step(ctx, guestUs) {
    const until = performance.now() + guestUs / 1000;
    // rbx: a linear congruential generator's state, the "work" (kept in a register like all state).
    let x = Number(BigInt.asUintN(31, ctx.ctl.reg(ctx.vcpu, "rbx")));
    let n = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 5000; i++) x = (x * 1103515245 + 12345) % 2147483648;
      if (++n % 8 === 0 && ctx.shouldYield()) break;
    }
    ctx.ctl.setReg(ctx.vcpu, "rbx", BigInt(x));
    if (ctx.vcpu < (PAGE_SIZE - OFF_BUSY) / 8) {
      const h = header(ctx.mem);
      const at = OFF_BUSY + 8 * ctx.vcpu;
      h.setBigUint64(at, h.getBigUint64(at, true) + BigInt(Math.round(guestUs)), true);
      ctx.mem.markWritten(HEADER_PFN);
    }
  },
};

/**
 * sim:disk (vCPU 0). Registers: rbx = generation of the disk last handled (blockdev.ts: a new one
 * at each attach), rcx = passes done, rdi = 1 once "waiting" was printed for the missing disk.
 * The sectors are staged in guest memory from page 1 (as a driver would DMA them), read back
 * into the pages after them and compared.
 */
function disk(params: DiskParams): GuestProgram {
  const bytes = params.count * SECTOR_SIZE;
  const pages = Math.ceil(bytes / PAGE_SIZE);
  return {
    sliceMs: 10,
    step(ctx) {
      if (ctx.vcpu !== 0) return;
      const { mem, ctl, block } = ctx;
      const say = (text: string) => ctx.console(`sim-disk: ${params.vdev}: ${text}\n`);
      const slot = block.find(params.devid);
      if (slot < 0) {
        if (ctl.reg(0, "rdi") === 0n) say("waiting for the disk (xm block-attach)");
        ctl.setReg(0, "rdi", 1n);
        return;
      }
      const gen = BigInt(block.generation(slot));
      if (ctl.reg(0, "rbx") === gen) return;
      ctl.setReg(0, "rbx", gen);
      ctl.setReg(0, "rdi", 0n);
      const pass = Number(ctl.reg(0, "rcx")) + 1;
      ctl.setReg(0, "rcx", BigInt(pass));
      const top = Math.min(mem.nrPages, ctl.get(G.TARGET_PAGES));
      if (1 + 2 * pages > top) return say(`pass ${pass}: not enough guest memory for ${params.count} sectors`);
      const out = mem.bytes.subarray(PAGE_SIZE, PAGE_SIZE + bytes);
      const back = mem.bytes.subarray((1 + pages) * PAGE_SIZE, (1 + pages) * PAGE_SIZE + bytes);
      for (let i = 0; i < params.count; i++) {
        const text = diskSector(params.vdev, params.sector + i, pass);
        for (let j = 0; j < SECTOR_SIZE; j++) out[i * SECTOR_SIZE + j] = text.charCodeAt(j);
      }
      for (let p = 1; p <= 2 * pages; p++) mem.markWritten(p);
      const sectors = block.sectors(slot);
      const what = `${params.count} sectors at sector ${params.sector}`;
      const written = block.write(slot, params.sector, out);
      if (written !== BlockError.OK) return say(`pass ${pass}: write of ${what} (disk of ${sectors} sectors) failed: ${blockErrorName(written)}`);
      const h = header(mem);
      h.setBigUint64(OFF_WRITTEN, h.getBigUint64(OFF_WRITTEN, true) + BigInt(params.count), true);
      mem.markWritten(HEADER_PFN);
      const read = block.read(slot, params.sector, back);
      if (read !== BlockError.OK) return say(`pass ${pass}: wrote ${what}; reading back failed: ${blockErrorName(read)}`);
      const same = back.every((b, i) => b === out[i]);
      say(`pass ${pass}: wrote ${what}, read back ${same ? "identical" : "DIFFERENT"}`);
    },
  };
}

/**
 * Whether vCPU `vcpu` of a guest running `kernel` wants the CPU all the time: every vCPU of
 * sim:busy, vCPU 0 of sim:memwriter with no rate limit (`rate=max`); the rest mostly sleep.
 */
export function cpuBound(kernel: string, extra: string, vcpu: number, memoryBytes: number): boolean {
  if (kernel === "sim:busy") return true;
  if (kernel === "sim:memwriter" && vcpu === 0) {
    try {
      return parseMemwriterParams(extra, memoryBytes).rate === 0;
    } catch {
      return false;
    }
  }
  return false;
}

export function programFor(kernel: string, extra: string, memoryBytes: number): GuestProgram {
  checkProgram(kernel, extra, memoryBytes);
  switch (kernel as KernelName) {
    case "sim:counter":
      return counter();
    case "sim:memwriter":
      return memwriter(parseMemwriterParams(extra, memoryBytes));
    case "sim:busy":
      return busy;
    case "sim:disk":
      return disk(parseDiskParams(extra));
    default:
      return idle;
  }
}

export function programId(kernel: KernelName): number {
  return PROGRAM_IDS[kernel];
}
