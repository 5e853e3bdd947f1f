/**
 * Runner processes and their folders: where a guest's runner keeps its spec, pid and socket
 * (`var/run/xend/domains/<domid>/`), how the driver starts one (detached, own session, output to
 * `var/log/xen/runner.<domid>.log`), tells a live runner from a recycled pid, and ends one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { XvmError } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { pidAlive } from "../../runtime/process.ts";
import type { GuestInfo, GuestSpec } from "../driver.ts";
import { MAX_VCPUS } from "./control.ts";
import { writeFileAtomic } from "./files.ts";
import type { RunnerSpec } from "./guest.ts";
import { checkProgram } from "./programs.ts";
import { RUNNER_PID, RUNNER_SPEC } from "./protocol.ts";

/** True while `pid` is a live (not zombie) process. */
export const processAlive = pidAlive;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** True if `pid` is alive and is the runner of `dir` (a recycled pid is not). */
export function isRunnerProcess(pid: number, dir: string): boolean {
  if (!processAlive(pid)) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.includes("__runner") && argv.some((a) => a === dir || a.endsWith(dir));
  } catch {
    return process.platform !== "linux";
  }
}

/** A started runner, and how it ended once it has. */
export interface RunnerChild {
  child: ChildProcess;
  exit?: string;
  spawnError?: Error;
}

/** The runner folders under one state root. */
export class RunnerFolders {
  constructor(private readonly paths: Paths) {}

  dir(domid: number): string {
    return join(this.paths.runnersDir, String(domid));
  }

  logFile(domid: number): string {
    return join(this.paths.xenLogDir, `runner.${domid}.log`);
  }

  readPid(domid: number): number | undefined {
    try {
      const pid = Number.parseInt(readFileSync(join(this.dir(domid), RUNNER_PID), "utf8"), 10);
      return pid > 1 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  readSpec(domid: number): RunnerSpec | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir(domid), RUNNER_SPEC), "utf8")) as RunnerSpec;
    } catch {
      return undefined;
    }
  }

  /** The last lines the runner wrote, for error messages. */
  logTail(domid: number): string {
    try {
      const lines = readFileSync(this.logFile(domid), "utf8").trimEnd().split("\n");
      return lines.slice(-3).join(" | ") || "(no output)";
    } catch {
      return "(no log)";
    }
  }

  /**
   * Writes a fresh folder for `spec` and starts its runner (`<command> __runner <dir>`), detached,
   * with the daemon's environment. The caller waits for its socket.
   */
  start(command: string[], spec: GuestSpec): RunnerChild {
    const dir = this.dir(spec.domid);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(this.paths.xenLogDir, { recursive: true });
    const runnerSpec: RunnerSpec = {
      ...spec,
      affinity: spec.affinity.map((a) => [...a]),
      meta: spec.meta ?? {},
      allocKiB: Math.ceil(spec.maxMemKiB / 4) * 4,
      startTime: Date.now() / 1000,
    };
    writeFileAtomic(join(dir, RUNNER_SPEC), JSON.stringify(runnerSpec, null, 2));
    return this.spawn(command, spec.domid, dir);
  }

  private spawn(command: string[], domid: number, dir: string): RunnerChild {
    const log = openSync(this.logFile(domid), "a", 0o600);
    let child: ChildProcess;
    try {
      child = spawn(command[0]!, [...command.slice(1), "__runner", dir], {
        detached: true,
        stdio: ["ignore", log, log],
        env: process.env,
      });
    } finally {
      closeSync(log);
    }
    const entry: RunnerChild = { child };
    child.on("error", (error) => (entry.spawnError = error));
    child.on("exit", (code, signal) => (entry.exit = signal ? `was killed by ${signal}` : `exited with status ${code}`));
    child.unref();
    if (child.pid) writeFileSync(join(dir, RUNNER_PID), `${child.pid}\n`);
    return entry;
  }
}

/** Refuses a spec no runner could boot, before anything is started. */
export function validateSpec(spec: GuestSpec): void {
  const bad = (detail: string): never => {
    throw new XvmError("DOMAIN_CONFIG", { detail });
  };
  if (!Number.isInteger(spec.domid) || spec.domid < 1) bad(`domid must be a positive integer (got ${spec.domid})`);
  if (!spec.name) bad("a domain needs a name");
  if (!Number.isInteger(spec.memoryKiB) || spec.memoryKiB < 1024) bad(`memory must be at least 1 MiB (got ${spec.memoryKiB} KiB)`);
  if (!Number.isInteger(spec.maxMemKiB) || spec.maxMemKiB < spec.memoryKiB) bad(`maxmem (${spec.maxMemKiB} KiB) must be at least memory (${spec.memoryKiB} KiB)`);
  if (!Number.isInteger(spec.maxVcpus) || spec.maxVcpus < 1 || spec.maxVcpus > MAX_VCPUS) bad(`maxvcpus must be 1..${MAX_VCPUS} (got ${spec.maxVcpus})`);
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > spec.maxVcpus) bad(`vcpus must be 1..${spec.maxVcpus} (got ${spec.vcpus})`);
  checkProgram(spec.kernel, spec.extra, spec.memoryKiB * 1024);
}

/** A guest whose runner died while no driver was attached, as `list()` reports it once. */
export function lostGuestInfo(domid: number, spec: RunnerSpec): GuestInfo {
  return {
    domid,
    name: spec.name,
    uuid: spec.uuid,
    running: false,
    blocked: false,
    paused: false,
    shutdown: false,
    crashed: true,
    dying: false,
    shutdownReason: "crash",
    memoryKiB: spec.memoryKiB,
    maxMemKiB: spec.maxMemKiB,
    targetKiB: spec.memoryKiB,
    vcpus: [],
    maxVcpus: spec.maxVcpus,
    cpuTimeNs: 0,
    startTime: spec.startTime,
    meta: spec.meta,
    lost: true,
  };
}

/** Waits up to 5 s for a runner asked to end, then kills it; returns once it is gone. */
export async function reapRunner(pid: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (processAlive(pid) && Date.now() < deadline) await sleep(10);
  if (processAlive(pid)) {
    process.kill(pid, "SIGKILL");
    while (processAlive(pid)) await sleep(10);
  }
}
