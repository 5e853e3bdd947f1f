/**
 * The control block shared by a runner's main thread and its vCPU workers (one SharedArrayBuffer):
 * global words (pause, stop, throttle, balloon target, shutdown request), one slot per vCPU (wanted
 * online, state, a wake-up word) and each vCPU's registers. The registers ARE the programs' state
 * besides guest memory, so that pausing, dumping and migrating a guest needs nothing else.
 */

export const MAX_VCPUS = 128;

/** Global Int32 words. */
export const G = {
  /** 1 while the guest is paused: vCPUs park on {@link G.PAUSE} until it is 0 again. */
  PAUSE: 0,
  /** Non-zero once the guest has stopped for good (see {@link StopCode}): vCPUs exit. */
  STOP: 1,
  /** Auto-converge: percent of each timeslice a vCPU sleeps (0..99). */
  THROTTLE: 2,
  /** Balloon target in pages: guest programs never write at or above it. */
  TARGET_PAGES: 3,
  /** Bumped (and notified) by a vCPU each time it changes state: the main thread waits on it. */
  STATE_SEQ: 4,
  /** A shutdown request from the toolstack ({@link ShutdownCode}); vCPU 0 acts on it. */
  SHUTDOWN_REQ: 5,
  /** Online vCPU count wanted (mirror of the per-vCPU ONLINE words, for programs). */
  VCPUS: 6,
} as const;
const GLOBAL_WORDS = 16;

export const StopCode = { RUNNING: 0, SHUTDOWN: 1, CRASH: 2, DESTROY: 3 } as const;
export const ShutdownCode = { NONE: 0, poweroff: 1, reboot: 2, halt: 3, suspend: 4 } as const;
export type ShutdownName = Exclude<keyof typeof ShutdownCode, "NONE">;

export function shutdownName(code: number): ShutdownName | undefined {
  for (const [name, value] of Object.entries(ShutdownCode)) if (value === code && name !== "NONE") return name as ShutdownName;
  return undefined;
}

/** Per-vCPU Int32 words, at VCPU_BASE + n * VCPU_STRIDE. */
export const V = {
  /** 1 = the toolstack wants this vCPU online. */
  ONLINE: 0,
  /** What the vCPU is doing now ({@link VcpuRun}). */
  STATE: 1,
  /** Wake-up word: notified to cut a sleep short (pause, stop, offline). */
  KICK: 2,
  /**
   * The credit scheduler's limit: percent of each timeslice this vCPU may run (1..100; 0 = 100).
   * Set by the driver from weights and caps (credit.ts).
   */
  LIMIT: 3,
} as const;
const VCPU_BASE = GLOBAL_WORDS;
const VCPU_STRIDE = 8;

export const VcpuRun = { OFFLINE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, STOPPED: 4 } as const;

/** Register names of a simulated vCPU, in slot order. */
export const REG_NAMES = ["rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rflags", "cr0", "cr3", "cr4"] as const;
export type RegName = (typeof REG_NAMES)[number];
const REG_SLOTS = 16;
export const R = Object.fromEntries(REG_NAMES.map((n, i) => [n, i])) as Record<RegName, number>;

const INT_WORDS = VCPU_BASE + MAX_VCPUS * VCPU_STRIDE;
const REGS_OFFSET = Math.ceil((INT_WORDS * 4) / 8) * 8;
const CONTROL_BYTES = REGS_OFFSET + MAX_VCPUS * REG_SLOTS * 8;

export function allocateControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(CONTROL_BYTES);
}

export class Control {
  readonly words: Int32Array;
  readonly regs: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, INT_WORDS);
    this.regs = new BigInt64Array(buffer, REGS_OFFSET, MAX_VCPUS * REG_SLOTS);
  }

  get(word: number): number {
    return Atomics.load(this.words, word);
  }

  set(word: number, value: number): void {
    Atomics.store(this.words, word, value);
  }

  vcpuWord(vcpu: number, field: number): number {
    return VCPU_BASE + vcpu * VCPU_STRIDE + field;
  }

  vcpuGet(vcpu: number, field: number): number {
    return Atomics.load(this.words, this.vcpuWord(vcpu, field));
  }

  vcpuSet(vcpu: number, field: number, value: number): void {
    Atomics.store(this.words, this.vcpuWord(vcpu, field), value);
  }

  /** Wakes a vCPU from a sleep or park (bumps its KICK word). */
  kick(vcpu: number): void {
    const w = this.vcpuWord(vcpu, V.KICK);
    Atomics.add(this.words, w, 1);
    Atomics.notify(this.words, w);
  }

  /** Wakes every vCPU and everything parked on a global word. */
  kickAll(count = MAX_VCPUS): void {
    for (let v = 0; v < count; v++) this.kick(v);
    Atomics.notify(this.words, G.PAUSE);
    Atomics.notify(this.words, G.STOP);
  }

  /** Called by a vCPU when its state changes; wakes the main thread waiting for it. */
  publishState(vcpu: number, state: number): void {
    if (this.vcpuGet(vcpu, V.STATE) === state) return;
    this.vcpuSet(vcpu, V.STATE, state);
    Atomics.add(this.words, G.STATE_SEQ, 1);
    Atomics.notify(this.words, G.STATE_SEQ);
  }

  reg(vcpu: number, name: RegName): bigint {
    return this.regs[vcpu * REG_SLOTS + R[name]]!;
  }

  setReg(vcpu: number, name: RegName, value: bigint): void {
    this.regs[vcpu * REG_SLOTS + R[name]] = BigInt.asIntN(64, value);
  }

  /** Registers as decimal strings of their unsigned 64-bit value. */
  regsOf(vcpu: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of REG_NAMES) out[name] = BigInt.asUintN(64, this.reg(vcpu, name)).toString();
    return out;
  }

  setRegsOf(vcpu: number, regs: Record<string, string>): void {
    for (const name of REG_NAMES) if (regs[name] !== undefined) this.setReg(vcpu, name, BigInt(regs[name]!));
  }

  /**
   * Blocks the calling thread until `done()` holds or `timeoutMs` passes, waking on every vCPU
   * state change. Returns whether `done()` held.
   */
  waitState(done: () => boolean, timeoutMs: number): boolean {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const seq = Atomics.load(this.words, G.STATE_SEQ);
      if (done()) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.words, G.STATE_SEQ, seq, Math.min(left, 50));
    }
  }
}
