/**
 * The body of one simulated vCPU (runs inside a worker thread). It loops over timeslices: run the
 * guest program for the slice minus the throttle share, then block until the slice ends. Pause,
 * stop and offline requests arrive as words in the shared control block plus a notify on the
 * vCPU's KICK word, so a blocked vCPU reacts at once and a busy one at its next yield check.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { BlockDevices } from "./blockdev.ts";
import { Control, G, ShutdownCode, V, VcpuRun, shutdownName } from "./control.ts";
import { GuestMemory, type GuestMemoryBuffers } from "./memory.ts";
import { boot, isBooted, programFor, type KernelName, type ProgramContext } from "./programs.ts";

export interface VcpuWorkerData {
  vcpu: number;
  kernel: string;
  extra: string;
  control: SharedArrayBuffer;
  memory: GuestMemoryBuffers;
  /** The device table of the guest's virtual disks (blockdev.ts). */
  blockdevs: SharedArrayBuffer;
  vcpus: number;
  memoryKiB: number;
}

export type VcpuMessage =
  | { type: "ready"; vcpu: number; tid: number | null }
  | { type: "console"; vcpu: number; data: string }
  | { type: "shutdown"; vcpu: number; reason: string }
  | { type: "exit"; vcpu: number; cpuTimeNs: number | null };

/** The kernel thread id of the calling thread (Linux), for CPU time and affinity. */
export function currentTid(): number | null {
  try {
    const link = readlinkSync("/proc/thread-self");
    const tid = Number(link.split("/").pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

const CLK_TCK = 100;

/** user+system CPU time of a thread from a /proc stat line, in ns, and the CPU it last ran on. */
export function parseThreadStat(stat: string): { cpuTimeNs: number; cpu: number } | null {
  const close = stat.lastIndexOf(")");
  if (close < 0) return null;
  // Fields after the command name start at field 3 (state).
  const f = stat.slice(close + 2).trim().split(/\s+/);
  const utime = Number(f[14 - 3]);
  const stime = Number(f[15 - 3]);
  const cpu = Number(f[39 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return { cpuTimeNs: ((utime + stime) * 1e9) / CLK_TCK, cpu: Number.isFinite(cpu) ? cpu : 0 };
}

function ownCpuTimeNs(): number | null {
  try {
    return parseThreadStat(readFileSync("/proc/thread-self/stat", "utf8"))?.cpuTimeNs ?? null;
  } catch {
    return null;
  }
}

export function runVcpu(data: VcpuWorkerData, post: (message: VcpuMessage) => void): void {
  const ctl = new Control(data.control);
  const mem = new GuestMemory(data.memory);
  const v = data.vcpu;
  const program = programFor(data.kernel, data.extra, data.memoryKiB * 1024);
  const kickWord = ctl.vcpuWord(v, V.KICK);
  const ctx: ProgramContext = {
    vcpu: v,
    mem,
    ctl,
    console: (text) => post({ type: "console", vcpu: v, data: text }),
    shouldYield: () => ctl.get(G.STOP) !== 0 || ctl.get(G.PAUSE) !== 0 || ctl.vcpuGet(v, V.ONLINE) === 0,
    block: new BlockDevices(data.blockdevs),
  };
  post({ type: "ready", vcpu: v, tid: currentTid() });

  let halting = false;
  let next = performance.now();
  for (;;) {
    // Read the kick word before checking the flags: a kick that lands in between makes the wait
    // below return at once instead of being missed.
    const kick = Atomics.load(ctl.words, kickWord);
    if (ctl.get(G.STOP) !== 0) break;
    if (ctl.vcpuGet(v, V.ONLINE) === 0) {
      ctl.publishState(v, VcpuRun.OFFLINE);
      Atomics.wait(ctl.words, kickWord, kick, 1000);
      next = performance.now();
      continue;
    }
    if ((ctl.get(G.PAUSE) !== 0 || halting) && ctl.vcpuGet(v, V.STATE) === VcpuRun.PAUSED) {
      Atomics.wait(ctl.words, kickWord, kick, 1000);
      continue;
    }
    // RUNNING is published before the pause flag is read: the main thread sets the flag, then
    // reads the states, so it either sees this vCPU running (and waits for it to park) or this
    // vCPU sees the flag.
    ctl.publishState(v, VcpuRun.RUNNING);
    if (ctl.get(G.PAUSE) !== 0 || halting) {
      ctl.publishState(v, VcpuRun.PAUSED);
      Atomics.wait(ctl.words, kickWord, kick, 1000);
      next = performance.now();
      continue;
    }
    if (v === 0 && !isBooted(mem)) {
      boot(mem, data.kernel as KernelName);
      ctx.console(`xvm-sim guest kernel (${data.kernel}) booting: ${data.vcpus} vCPU(s), ${Math.round(data.memoryKiB / 1024)} MiB\n`);
    }
    if (v === 0) {
      const request = ctl.get(G.SHUTDOWN_REQ);
      if (request !== ShutdownCode.NONE) {
        // The guest acts on the request itself (a paused guest only does so once unpaused).
        const reason = shutdownName(request) ?? "poweroff";
        ctx.console(`The system is going down for ${reason} NOW!\n`);
        post({ type: "shutdown", vcpu: v, reason });
        halting = true;
        continue;
      }
    }
    // The slice share that runs: less the auto-converge throttle, at most the scheduler's limit.
    const throttle = Math.min(99, Math.max(0, ctl.get(G.THROTTLE)));
    const limit = Math.min(100, ctl.vcpuGet(v, V.LIMIT) || 100);
    program.step(ctx, program.sliceMs * 10 * Math.min(100 - throttle, limit));
    ctl.setReg(v, "rip", ctl.reg(v, "rip") + 1n);
    const now = performance.now();
    next += program.sliceMs;
    // A vCPU that fell far behind (host overloaded) does not catch up in a burst.
    if (next < now - 5 * program.sliceMs) next = now;
    if (next > now) {
      ctl.publishState(v, VcpuRun.BLOCKED);
      Atomics.wait(ctl.words, kickWord, kick, next - now);
    }
  }
  ctl.publishState(v, VcpuRun.STOPPED);
  post({ type: "exit", vcpu: v, cpuTimeNs: ownCpuTimeNs() });
}
