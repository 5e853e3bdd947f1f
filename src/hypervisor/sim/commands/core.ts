/** The runner commands behind every HypervisorDriver operation of the sim driver. */
import { readFileSync } from "node:fs";
import { XvmError } from "../../../errors.ts";
import type { ShutdownReason, VcpuState } from "../../driver.ts";
import { RUNNER_PROTOCOL_VERSION } from "../protocol.ts";
import { arg, type RunnerCommand } from "../runner-command.ts";

const SHUTDOWN_REASONS = ["poweroff", "reboot", "halt", "suspend"] as const;

/** Resident set size of this process, from /proc (0 where there is none). */
export function rssBytes(): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

export const commands: Record<string, RunnerCommand> = {
  /** First request of a connection: the guest's state and the events no driver has acknowledged. */
  hello({ host, args, connection }) {
    connection.subscribed = arg.bool(args, "subscribe", "hello", false);
    return { result: { protocol: RUNNER_PROTOCOL_VERSION, info: host.info(), pending: host.pendingEvents() } };
  },
  ackEvents({ host, args }) {
    host.ackEvents(arg.int(args, "seq", "ackEvents"));
  },
  info({ host }) {
    return { result: host.info() };
  },
  pause({ guest }) {
    return { result: guest.pause() };
  },
  unpause({ guest }) {
    guest.unpause();
  },
  shutdown({ guest, args }) {
    const reason = arg.string(args, "reason", "shutdown");
    if (!(SHUTDOWN_REASONS as readonly string[]).includes(reason)) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: `shutdown reason must be one of ${SHUTDOWN_REASONS.join(", ")}` });
    }
    guest.requestShutdown(reason as Exclude<ShutdownReason, "crash">);
  },
  crash({ guest }) {
    guest.crash();
  },
  destroy({ host }) {
    host.exitAfterReply();
  },
  setMemoryTarget({ guest, args }) {
    return { result: guest.setMemoryTarget(arg.int(args, "kib", "setMemoryTarget")) };
  },
  setMaxMemory({ host, guest, args }) {
    guest.setMaxMemory(arg.int(args, "kib", "setMaxMemory"));
    host.saveSpec();
  },
  async setVcpus({ host, guest, args }) {
    guest.setVcpus(arg.int(args, "count", "setVcpus"));
    host.saveSpec();
    await guest.vcpusReady();
  },
  pinVcpu({ guest, args }) {
    guest.pinVcpu(arg.int(args, "vcpu", "pinVcpu"), arg.ints(args, "cpus", "pinVcpu"));
  },
  setMeta({ host, args }) {
    const name = arg.string(args, "name", "setMeta");
    if (name === "") throw new XvmError("XVM_BAD_REQUEST", { detail: "setMeta: the name cannot be empty" });
    host.spec.name = name;
    host.spec.meta = arg.object(args, "meta", "setMeta");
    host.saveSpec();
  },
  consoleRead({ guest }) {
    return { result: guest.readConsole() };
  },
  consoleWrite({ guest, args }) {
    guest.inputConsole(arg.string(args, "data", "consoleWrite"));
  },
  vcpuState({ guest }) {
    return { result: guest.withVcpusStopped(() => guest.vcpuState()) };
  },
  setVcpuState({ guest, args }) {
    const states = args.states;
    if (!Array.isArray(states)) throw new XvmError("XVM_BAD_REQUEST", { detail: "setVcpuState: 'states' must be a list" });
    guest.setVcpuState(states as VcpuState[]);
  },
  readPages({ guest, args }) {
    try {
      return { payload: guest.mem.readPages(arg.ints(args, "pfns", "readPages")) };
    } catch (error) {
      if (error instanceof RangeError) throw new XvmError("XVM_BAD_REQUEST", { detail: error.message });
      throw error;
    }
  },
  writePages({ guest, args, payload }) {
    const pfns = arg.ints(args, "pfns", "writePages");
    try {
      guest.mem.writePages(pfns, payload);
    } catch (error) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: (error as Error).message });
    }
  },
  /** Log-dirty mode: enabling starts from a clean bitmap (the caller sends every page once anyway). */
  logDirty({ guest, args }) {
    if (arg.bool(args, "enable", "logDirty")) guest.mem.clearDirty();
  },
  takeDirty({ guest }) {
    const bitmap = guest.mem.takeDirty();
    return { result: { nrPages: guest.mem.nrPages }, payload: bitmap };
  },
  throttle({ guest, args }) {
    guest.setThrottle(arg.int(args, "percent", "throttle"));
  },
  /** Figures for benchmarks and diagnostics. */
  stats({ guest }) {
    return {
      result: {
        rssBytes: rssBytes(),
        populatedBytes: guest.populatedBytes(),
        dirtyPages: guest.mem.countDirty(),
        nrPages: guest.mem.nrPages,
        throttle: guest.throttle,
      },
    };
  },
};
