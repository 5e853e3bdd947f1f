/**
 * The runner socket's server side: a Unix socket listener whose connections deliver frames
 * (framing.ts) and take writes, on whichever runtime runs the runner.
 *
 * On Bun it is `Bun.listen` directly. Bun's node:net is JavaScript on top of the same native
 * sockets, and loading it cost every runner about 6 MiB of memory (2 MiB of it its own heap) —
 * as much as the guest's vCPU thread (docs/architecture.md, "Memory"). On Node and Deno it is
 * node:net, loaded on first use.
 */
import { runtimeName } from "../../runtime/self.ts";
import { FrameDecoder, readFrames, type Frame } from "./framing.ts";

/** One driver connection, as runner commands see it. A node:net Socket is one as it is. */
export interface RunnerSocket {
  readonly destroyed: boolean;
  /** Queues `data`; `done` runs once it is all handed to the kernel (or the socket is gone). */
  write(data: Uint8Array, done?: () => void): void;
  once(event: "close", listener: () => void): void;
  off(event: "close", listener: () => void): void;
}

export interface RunnerListener {
  close(): void;
}

export interface Accepted {
  socket: RunnerSocket;
  onFrame(listener: (frame: Frame) => void): void;
  onClose(listener: () => void): void;
}

/** Listens on the Unix socket `path` (which must not exist); resolves once it does. */
export async function listenRunnerSocket(path: string, accept: (connection: Accepted) => void): Promise<RunnerListener> {
  return runtimeName === "bun" ? listenBun(path, accept) : listenNode(path, accept);
}

// ---- Bun ---------------------------------------------------------------------------------------

interface BunSocket {
  data: BunConnection;
  write(data: Uint8Array): number;
  end(): void;
  terminate?(): void;
}

interface BunLike {
  listen(options: {
    unix: string;
    socket: {
      open(s: BunSocket): void;
      data(s: BunSocket, chunk: Uint8Array): void;
      drain(s: BunSocket): void;
      close(s: BunSocket): void;
      error(s: BunSocket, error: Error): void;
    };
  }): { stop(closeActive?: boolean): void };
}

class BunConnection implements RunnerSocket {
  destroyed = false;
  private readonly queue: { data: Uint8Array; done?: () => void }[] = [];
  private readonly closeListeners = new Set<() => void>();
  private readonly frameListeners: ((frame: Frame) => void)[] = [];
  private readonly decoder = new FrameDecoder();

  constructor(private readonly socket: BunSocket) {}

  write(data: Uint8Array, done?: () => void): void {
    if (this.destroyed) {
      done?.();
      return;
    }
    this.queue.push({ data, done });
    if (this.queue.length === 1) this.flush();
  }

  /** Writes what the kernel takes; `drain` calls it again for the rest. */
  flush(): void {
    while (this.queue.length > 0 && !this.destroyed) {
      const head = this.queue[0]!;
      const n = head.data.byteLength === 0 ? 0 : this.socket.write(head.data);
      if (n < 0) return this.closed();
      if (n < head.data.byteLength) {
        head.data = head.data.subarray(n);
        return;
      }
      this.queue.shift();
      head.done?.();
    }
  }

  received(chunk: Uint8Array): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch {
      // A malformed stream: no frame boundary can be trusted any more.
      this.socket.terminate ? this.socket.terminate() : this.socket.end();
      return this.closed();
    }
    for (const frame of frames) for (const listener of this.frameListeners) listener(frame);
  }

  closed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const item of this.queue.splice(0)) item.done?.();
    for (const listener of [...this.closeListeners]) listener();
    this.closeListeners.clear();
  }

  once(_event: "close", listener: () => void): void {
    const once = () => {
      this.closeListeners.delete(once);
      listener();
    };
    (once as { original?: () => void }).original = listener;
    this.closeListeners.add(once);
  }

  off(_event: "close", listener: () => void): void {
    for (const l of this.closeListeners) if (l === listener || (l as { original?: () => void }).original === listener) this.closeListeners.delete(l);
  }

  onFrame(listener: (frame: Frame) => void): void {
    this.frameListeners.push(listener);
  }

  onClose(listener: () => void): void {
    this.closeListeners.add(listener);
  }
}

function listenBun(path: string, accept: (connection: Accepted) => void): RunnerListener {
  const bun = (globalThis as unknown as { Bun: BunLike }).Bun;
  const server = bun.listen({
    unix: path,
    socket: {
      open(s) {
        const c = new BunConnection(s);
        s.data = c;
        accept({ socket: c, onFrame: (l) => c.onFrame(l), onClose: (l) => c.onClose(l) });
      },
      data: (s, chunk) => s.data.received(chunk),
      drain: (s) => s.data.flush(),
      close: (s) => s.data?.closed(),
      error: (s) => s.data?.closed(),
    },
  });
  // Connections stay open: the reply to `destroy` is written after the listener closes.
  return { close: () => server.stop(false) };
}

// ---- Node, Deno --------------------------------------------------------------------------------

async function listenNode(path: string, accept: (connection: Accepted) => void): Promise<RunnerListener> {
  const { createServer } = process.getBuiltinModule("node:net") as typeof import("node:net");
  const server = createServer((socket) => {
    socket.on("error", () => {});
    const frameListeners: ((frame: Frame) => void)[] = [];
    readFrames(socket, (frame) => {
      for (const listener of frameListeners) listener(frame);
    });
    const wrapped: RunnerSocket = {
      get destroyed() {
        return socket.destroyed;
      },
      write: (data, done) => {
        if (socket.destroyed) return done?.();
        socket.write(data, () => done?.());
      },
      once: (event, listener) => socket.once(event, listener),
      off: (event, listener) => socket.off(event, listener),
    };
    accept({ socket: wrapped, onFrame: (l) => frameListeners.push(l), onClose: (l) => socket.on("close", l) });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return { close: () => server.close() };
}
