/**
 * A QMP client over a Unix socket: reads the greeting, negotiates capabilities, then sends one
 * command at a time in order (QMP answers in order) and hands asynchronous events to a listener.
 * QEMU serves one QMP client per monitor socket, so xend keeps this one connection per guest.
 */
import type { Socket } from "node:net";
import { canCarryFds, connectUnix, writeWithFd } from "../../runtime/fd-pass.ts";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`${command}: ${desc}`);
    this.name = "QmpError";
  }
}

interface Waiting {
  command: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

/** Longest line a QMP answer may be (bounded so a broken peer cannot fill memory). */
const MAX_LINE = 16 * 1024 * 1024;

export class QmpClient {
  private buffer = "";
  private readonly waiting: Waiting[] = [];
  private greeted?: (ok: boolean) => void;
  /** The last write that carries (or follows) a descriptor, while it is pending. */
  private fdWrite?: Promise<void>;
  closed = false;
  private readonly closeListeners: ((why: string) => void)[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly onEvent: (event: QmpEvent) => void,
  ) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => this.onClose("connection closed"));
  }

  /** Connects, reads the greeting and enters command mode. */
  static async connect(path: string, onEvent: (event: QmpEvent) => void, timeoutMs = 10_000): Promise<QmpClient> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = connectUnix(path);
    const socket = await Promise.race([
      connecting,
      new Promise<never>((_, reject) => (timer = setTimeout(() => {
        reject(new Error(`QMP connect to ${path} timed out`));
        connecting.then((late) => late.destroy(), () => {});
      }, timeoutMs))),
    ]).finally(() => clearTimeout(timer));
    const client = new QmpClient(socket, onEvent);
    const greeted = new Promise<boolean>((resolve) => (client.greeted = resolve));
    const greetTimer = setTimeout(() => client.greeted?.(false), timeoutMs);
    const ok = await greeted;
    clearTimeout(greetTimer);
    if (!ok) {
      client.close();
      throw new Error(`no QMP greeting on ${path}${client.closed ? " (closed)" : ""}`);
    }
    await client.execute("qmp_capabilities");
    return client;
  }

  onClosed(listener: (why: string) => void): void {
    if (this.closed) listener("connection closed");
    else this.closeListeners.push(listener);
  }

  /** Sends a command; resolves with its `return` value, rejects with {@link QmpError}. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = 60_000): Promise<T> {
    return this.send<T>(command, args, timeoutMs);
  }

  /** Whether {@link executeWithFd} can work on this connection (see runtime/fd-pass.ts). */
  get carriesFds(): boolean {
    return canCarryFds(this.socket);
  }

  /** A command with a descriptor attached (`getfd`, `add-fd`): QEMU gets its own copy of `carried`'s. */
  executeWithFd<T = unknown>(command: string, args: Record<string, unknown>, carried: Socket, timeoutMs = 60_000): Promise<T> {
    return this.send<T>(command, args, timeoutMs, carried);
  }

  private send<T>(command: string, args: Record<string, unknown> | undefined, timeoutMs: number, carried?: Socket): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { command, resolve: resolve as (v: unknown) => void, reject };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          // The answer would arrive out of place: the connection is no longer usable.
          reject(new Error(`QMP ${command}: no answer within ${timeoutMs} ms`));
          this.close();
        }, timeoutMs);
      }
      this.waiting.push(w);
      const line = `${JSON.stringify(args ? { execute: command, arguments: args } : { execute: command })}\n`;
      if (!carried && !this.fdWrite) {
        this.socket.write(line);
        return;
      }
      // A write with a descriptor may wait for the runtime's buffer to drain: what is sent after
      // it waits for it too, so that QEMU reads the commands in the order they were given.
      const write = (this.fdWrite ?? Promise.resolve()).then(() => (carried ? writeWithFd(this.socket, line, carried) : void this.socket.write(line)));
      const settled = write.then(() => {
        if (this.fdWrite === settled) this.fdWrite = undefined;
      }, (error: Error) => {
        // Nothing reached QEMU, so no answer will come: this connection's order is broken.
        clearTimeout(w.timer);
        reject(new Error(`QMP ${command}: ${error.message}`));
        this.close();
      });
      this.fdWrite = settled;
    });
  }

  close(): void {
    this.socket.destroy();
    this.onClose("closed by xend");
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE) this.close();
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if ("QMP" in msg) {
      this.greeted?.(true);
      this.greeted = undefined;
      return;
    }
    if (typeof msg.event === "string") {
      try {
        this.onEvent(msg as unknown as QmpEvent);
      } catch {
        // the listener's failure is its own
      }
      return;
    }
    const w = this.waiting.shift();
    if (!w) return;
    clearTimeout(w.timer);
    if ("error" in msg) {
      const e = msg.error as { class?: string; desc?: string };
      w.reject(new QmpError(w.command, e.class ?? "GenericError", e.desc ?? "failed"));
    } else {
      w.resolve(msg.return);
    }
  }

  private onClose(why: string): void {
    if (this.closed) return;
    this.closed = true;
    this.greeted?.(false);
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`QMP ${w.command}: ${why}`));
    }
    for (const l of this.closeListeners.splice(0)) l(why);
  }
}
