/**
 * The runner: one OS process per simulated guest (`xvm __runner <dir>`), started detached by the
 * sim driver. It owns the guest (memory, vCPU threads) and serves the runner socket in `<dir>`.
 * It outlives any driver: a dropped connection changes nothing, and life-cycle events that happen
 * while no driver listens are kept until one attaches and acknowledges them.
 *
 * Folder `<dir>` (= paths.runnersDir/<domid>): `spec.json` (what the driver needs to re-attach, or
 * to report the guest lost if this process dies), `pid`, `runner.sock`. The runner removes the
 * folder when the guest is destroyed. Its stdout/stderr go to a log file the driver chose.
 */
import { chmodSync, existsSync, readFileSync, readlinkSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { appendRotating } from "../../runtime/rotating-file.ts";
import { join } from "node:path";
import { XvmError, errorMessage } from "../../errors.ts";
import { RUNNER_COMMANDS } from "./commands/index.ts";
import { writeFileAtomic } from "./files.ts";
import { encodeFrame, type Frame } from "./framing.ts";
import { SimGuest, type LifecycleEvent, type RunnerSpec } from "./guest.ts";
import { RUNNER_PID, RUNNER_SOCKET, RUNNER_SPEC, type EventHeader, type RequestHeader, type RunnerEventBody } from "./protocol.ts";
import type { RunnerConnection, RunnerHost } from "./runner-command.ts";
import { listenRunnerSocket, type Accepted, type RunnerListener } from "./runner-socket.ts";

/**
 * The runner's log lines go to the log file the driver gave it as stderr (runner.<domid>.log),
 * through the rotating writer (1 MiB, 5 kept, like xend.log), so a guest that logs forever cannot
 * fill the disk. When stderr is not a file (a test's pipe), lines go to stderr as they are.
 */
function log(domid: number | string, line: string): void {
  const text = `${new Date().toISOString()} runner[${domid}] pid ${process.pid}: ${line}\n`;
  const file = stderrFile();
  if (!file || !appendRotating(file, text, { mode: 0o600, who: "runner" })) process.stderr.write(text);
}

let stderrPath: string | null | undefined;

/** The regular file stderr was opened on (Linux /proc), if it is one. */
function stderrFile(): string | undefined {
  if (stderrPath === undefined) {
    stderrPath = null;
    try {
      const target = readlinkSync("/proc/self/fd/2");
      if (target.startsWith("/") && statSync(target).isFile()) stderrPath = target;
    } catch {
      // not Linux, or stderr is gone
    }
  }
  return stderrPath ?? undefined;
}

class Runner implements RunnerHost {
  readonly spec: RunnerSpec;
  readonly guest: SimGuest;
  private server?: RunnerListener;
  private readonly connections = new Set<RunnerConnection>();
  private pending: LifecycleEvent[] = [];
  private exiting = false;

  constructor(readonly dir: string) {
    this.spec = JSON.parse(readFileSync(join(dir, RUNNER_SPEC), "utf8")) as RunnerSpec;
    this.guest = new SimGuest(this.spec, {
      lifecycle: (event) => {
        this.pending.push(event);
        const body: RunnerEventBody = event.type === "crashed" ? { type: "crashed", detail: event.detail } : { type: "shutdown", reason: event.reason };
        this.broadcast({ event: body, seq: event.seq });
      },
      console: (data) => this.broadcast({ event: { type: "console", data } }),
      log: (line) => this.log(line),
    });
  }

  log(line: string): void {
    log(this.spec.domid, line);
  }

  async start(): Promise<void> {
    writeFileSync(join(this.dir, RUNNER_PID), `${process.pid}\n`);
    const t0 = performance.now();
    await this.guest.start();
    const vcpusMs = performance.now() - t0;
    const path = join(this.dir, RUNNER_SOCKET);
    if (existsSync(path)) unlinkSync(path);
    this.server = await listenRunnerSocket(path, (accepted) => this.accept(accepted));
    chmodSync(path, 0o600);
    this.log(`domain ${this.spec.domid} (${this.spec.name}, ${this.spec.kernel}) running: ${this.spec.vcpus} vCPU(s), ${this.spec.memoryKiB} KiB ` +
      `(process up at ${Math.round(t0)} ms, vCPU threads ready in ${Math.round(vcpusMs)} ms)`);
  }

  info() {
    return this.guest.info();
  }

  saveSpec(): void {
    writeFileAtomic(join(this.dir, RUNNER_SPEC), JSON.stringify(this.spec, null, 2));
  }

  pendingEvents(): LifecycleEvent[] {
    return [...this.pending];
  }

  ackEvents(upToSeq: number): void {
    this.pending = this.pending.filter((e) => e.seq > upToSeq);
  }

  exitAfterReply(): void {
    this.exiting = true;
  }

  private broadcast(header: EventHeader): void {
    const frame = encodeFrame(header as unknown as Record<string, unknown>);
    for (const c of this.connections) if (c.subscribed && !c.socket.destroyed) c.socket.write(frame);
  }

  private accept(accepted: Accepted): void {
    const connection: RunnerConnection = { socket: accepted.socket, subscribed: false };
    this.connections.add(connection);
    accepted.onClose(() => this.connections.delete(connection));
    accepted.onFrame((frame: Frame) => void this.handle(connection, frame.header as unknown as RequestHeader, frame.payload));
  }

  private async handle(connection: RunnerConnection, request: RequestHeader, payload: Uint8Array): Promise<void> {
    const { id, cmd } = request;
    const reply = (header: Record<string, unknown>, data?: Uint8Array, done?: () => void) => {
      if (connection.socket.destroyed) return done?.();
      connection.socket.write(encodeFrame(header, data), () => done?.());
    };
    const command = Object.hasOwn(RUNNER_COMMANDS, cmd) ? RUNNER_COMMANDS[cmd] : undefined;
    try {
      if (!command) throw new XvmError("XVM_BAD_REQUEST", { detail: `unknown runner command '${cmd}'` });
      const out = await command({
        host: this,
        guest: this.guest,
        args: request.args ?? {},
        payload,
        connection,
        progress: (data) => reply({ id, progress: data }),
      });
      if (this.exiting) {
        await this.shutdown("destroyed");
        reply({ id, ok: true, result: out?.result ?? null }, undefined, () => process.exit(0));
        setTimeout(() => process.exit(0), 1000).unref();
        return;
      }
      reply({ id, ok: true, result: out?.result ?? null }, out?.payload);
    } catch (error) {
      const e = error instanceof XvmError ? error : new XvmError("XVM_INTERNAL", { detail: errorMessage(error) });
      if (!(error instanceof XvmError)) this.log(`${cmd} failed: ${(error as Error)?.stack ?? String(error)}`);
      reply({ id, ok: false, error: e.toJSON() });
    }
  }

  /** Stops the guest and removes the folder; the process exits right after. */
  async shutdown(why: string): Promise<void> {
    this.log(`stopping (${why})`);
    await this.guest.stop();
    this.server?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Entry of `xvm __runner <dir>`: runs until the guest is destroyed (or the process is killed). */
export async function runRunner(dir: string): Promise<never> {
  let runner: Runner;
  try {
    runner = new Runner(dir);
    await runner.start();
  } catch (error) {
    log(dir, `failed to start: ${error instanceof XvmError ? error.message : ((error as Error)?.stack ?? String(error))}`);
    process.exit(1);
  }
  // A runner is a guest: losing it to an unexpected error in this process would lose the guest.
  process.on("uncaughtException", (error) => runner.log(`uncaught: ${error.stack ?? error.message}`));
  process.on("unhandledRejection", (error) => runner.log(`unhandled rejection: ${String((error as Error)?.stack ?? error)}`));
  process.on("SIGHUP", () => {});
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      void runner.shutdown(`signal ${signal}`).finally(() => process.exit(0));
    });
  }
  return new Promise<never>(() => {});
}
