/**
 * Writing bytes together with a file descriptor on a Unix socket (SCM_RIGHTS): what QEMU's QMP
 * `getfd` reads, so a migration stream can go from xend's authenticated TCP connection straight
 * into QEMU instead of through a relay in xend (a relay costs a copy and CPU on both hosts).
 *
 * Neither Node nor Bun has a public API for it, so each runtime gets the smallest private one:
 *  - Node: its IPC pipes carry a handle with a write (the mechanism behind child_process.send with
 *    a socket); the Unix connection is opened as such a pipe from the start (connectUnix).
 *  - Bun: libc's sendmsg(2) through bun:ffi, on the socket's own descriptor.
 * Anywhere else, or if those internals move, `canCarryFds` says no and callers keep their relay.
 */
import { readSync } from "node:fs";
import { createConnection, Socket } from "node:net";

/** Node's pipe_wrap/stream_wrap bindings, as far as they are used here. */
interface NativeStream {
  fd?: number;
  connect(req: object, path: string): number;
  writeUtf8String(req: object, text: string, handle?: object): number;
}
interface NodeBindings {
  Pipe: new (type: number) => NativeStream;
  PipeConnectWrap: new () => { oncomplete?: (status: number) => void };
  ipc: number;
  WriteWrap: new () => { handle?: object; oncomplete?: (status: number) => void };
  lastWriteWasAsync(): boolean;
}

type SendMsg = (socketFd: number, text: Buffer, fd: number) => number;
type SetSockOpt = (fd: number, level: number, name: number, value: number) => number;

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
let node: NodeBindings | null | undefined;
let bunSendMsg: SendMsg | null | undefined;
let bunSetSockOpt: SetSockOpt | undefined;
const passing = new WeakSet<Socket>();

function nodeBindings(): NodeBindings | null {
  if (node !== undefined) return node;
  node = null;
  if (isBun || typeof (process as { binding?: unknown }).binding !== "function") return node;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const pipe = binding("pipe_wrap") as { Pipe: NodeBindings["Pipe"]; PipeConnectWrap: NodeBindings["PipeConnectWrap"]; constants: { IPC: number } };
    const stream = binding("stream_wrap") as { WriteWrap: NodeBindings["WriteWrap"]; streamBaseState: Int32Array; kLastWriteWasAsync: number };
    if (typeof pipe.Pipe !== "function" || typeof stream.WriteWrap !== "function" || typeof pipe.constants?.IPC !== "number") return node;
    node = {
      Pipe: pipe.Pipe,
      PipeConnectWrap: pipe.PipeConnectWrap,
      ipc: pipe.constants.IPC,
      WriteWrap: stream.WriteWrap,
      lastWriteWasAsync: () => stream.streamBaseState[stream.kLastWriteWasAsync] !== 0,
    };
  } catch {
    node = null;
  }
  return node;
}

/** sendmsg(2) with one SCM_RIGHTS descriptor, through bun:ffi (Linux, 64-bit layouts). */
async function loadBunSendMsg(): Promise<SendMsg | null> {
  if (bunSendMsg !== undefined) return bunSendMsg;
  bunSendMsg = null;
  if (!isBun || process.platform !== "linux" || !["x64", "arm64"].includes(process.arch)) return bunSendMsg;
  try {
    const specifier = "bun:ffi";
    const ffi = (await import(specifier)) as {
      dlopen(lib: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...a: unknown[]) => number> };
      ptr(view: ArrayBufferView): number;
    };
    let lib: ReturnType<typeof ffi.dlopen> | undefined;
    for (const name of ["libc.so.6", `libc.musl-${process.arch === "x64" ? "x86_64" : "aarch64"}.so.1`]) {
      try {
        lib = ffi.dlopen(name, {
          sendmsg: { args: ["i32", "ptr", "i32"], returns: "i64" },
          setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
        });
        break;
      } catch {
        // the next libc name
      }
    }
    if (!lib) return bunSendMsg;
    const sendmsg = lib.symbols.sendmsg!;
    const setsockopt = lib.symbols.setsockopt!;
    bunSetSockOpt = (fd, level, name, value) => {
      const v = Buffer.alloc(4);
      v.writeInt32LE(value, 0);
      return Number(setsockopt(fd, level, name, ffi.ptr(v), 4));
    };
    const SOL_SOCKET = 1;
    const SCM_RIGHTS = 1;
    const MSG_NOSIGNAL = 0x4000;
    bunSendMsg = (socketFd, text, fd) => {
      // struct iovec { void *base; size_t len; }
      const iov = Buffer.alloc(16);
      iov.writeBigUInt64LE(BigInt(ffi.ptr(text)), 0);
      iov.writeBigUInt64LE(BigInt(text.length), 8);
      // struct cmsghdr { size_t len; int level; int type; int fd; } padded to CMSG_SPACE(4) = 24
      const control = Buffer.alloc(24);
      control.writeBigUInt64LE(20n, 0);
      control.writeInt32LE(SOL_SOCKET, 8);
      control.writeInt32LE(SCM_RIGHTS, 12);
      control.writeInt32LE(fd, 16);
      // struct msghdr { name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad) }
      const msg = Buffer.alloc(56);
      msg.writeBigUInt64LE(BigInt(ffi.ptr(iov)), 16);
      msg.writeBigUInt64LE(1n, 24);
      msg.writeBigUInt64LE(BigInt(ffi.ptr(control)), 32);
      msg.writeBigUInt64LE(BigInt(control.length), 40);
      return Number(sendmsg(socketFd, ffi.ptr(msg), MSG_NOSIGNAL));
    };
  } catch {
    bunSendMsg = null;
  }
  return bunSendMsg;
}

function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/**
 * Connects to a Unix socket; on Node as an IPC pipe, so that writeWithFd can use it later.
 * Rejects like net.createConnection would.
 */
export async function connectUnix(path: string): Promise<Socket> {
  const bindings = nodeBindings();
  if (!bindings) {
    if (isBun) await loadBunSendMsg();
    return new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path });
      s.once("error", reject);
      s.once("connect", () => {
        s.off("error", reject);
        if (bunSendMsg) passing.add(s);
        resolve(s);
      });
    });
  }
  const handle = new bindings.Pipe(bindings.ipc);
  await new Promise<void>((resolve, reject) => {
    const req = new bindings.PipeConnectWrap();
    const fail = (status: number) => {
      const error = Object.assign(new Error(`connect ${path}: ${status === -2 ? "ENOENT" : status === -111 ? "ECONNREFUSED" : `error ${status}`}`), {
        code: status === -2 ? "ENOENT" : status === -111 ? "ECONNREFUSED" : "ECONNECT",
      });
      reject(error);
    };
    req.oncomplete = (status) => (status === 0 ? resolve() : fail(status));
    const err = handle.connect(req, path);
    if (err !== 0) fail(err);
  });
  const socket = new Socket({ handle: handle as never, readable: true, writable: true });
  passing.add(socket);
  return socket;
}

/** Whether writeWithFd works on this socket (made by connectUnix in a runtime that can). */
export function canCarryFds(socket: Socket): boolean {
  return passing.has(socket);
}

/**
 * Writes `text` with `carried`'s descriptor attached (the receiver gets its own copy; the caller
 * keeps and later closes `carried`). Earlier writes on `socket` go first.
 */
export async function writeWithFd(socket: Socket, text: string, carried: Socket): Promise<void> {
  if (!passing.has(socket)) throw new Error("this connection cannot carry file descriptors");
  const fd = fdOf(carried);
  if (fd === undefined) throw new Error("the socket to pass has no descriptor");
  // The descriptor's write goes to the handle directly: what the runtime still holds goes first.
  while (socket.writableLength > 0) await new Promise((r) => socket.once("drain", r));
  const bindings = nodeBindings();
  if (bindings) {
    const handle = (socket as unknown as { _handle?: NativeStream })._handle;
    const carriedHandle = (carried as unknown as { _handle?: object })._handle;
    if (!handle || !carriedHandle) throw new Error("the connection is closed");
    await new Promise<void>((resolve, reject) => {
      const req = new bindings.WriteWrap();
      req.handle = handle;
      req.oncomplete = (status) => (status === 0 ? resolve() : reject(new Error(`write with a descriptor failed (${status})`)));
      const err = handle.writeUtf8String(req, text, carriedHandle);
      if (err !== 0) reject(new Error(`write with a descriptor failed (${err})`));
      else if (!bindings.lastWriteWasAsync()) resolve();
    });
    return;
  }
  const sendmsg = bunSendMsg;
  const own = fdOf(socket);
  if (!sendmsg || own === undefined) throw new Error("this connection cannot carry file descriptors");
  const bytes = Buffer.from(text);
  const sent = sendmsg(own, bytes, fd);
  if (sent < 0) throw new Error("sendmsg with a descriptor failed");
  if (sent < bytes.length) socket.write(bytes.subarray(sent));
}

/**
 * Nagle's algorithm back on for a TCP connection handed to QEMU, as on QEMU's own migration
 * sockets: the stream is bulk, and Bun sets TCP_NODELAY on every socket (its setNoDelay(false)
 * leaves it so), which sends each of QEMU's writes as packets of its own.
 */
export function bulkTcp(socket: Socket): void {
  socket.setNoDelay(false);
  const fd = fdOf(socket);
  const IPPROTO_TCP = 6;
  const TCP_NODELAY = 1;
  if (bunSetSockOpt && fd !== undefined) bunSetSockOpt(fd, IPPROTO_TCP, TCP_NODELAY, 0);
}

/**
 * Reads exactly `n` bytes from a socket the runtime has not started reading (accepted with
 * pauseOnConnect and never resumed), straight from its descriptor: a runtime's reader reads
 * ahead, and whatever it took would be missing from the stream the socket is handed on with.
 * The descriptor is non-blocking, so this polls briefly while the bytes are in flight.
 */
export async function readExactly(socket: Socket, n: number, timeoutMs: number): Promise<Buffer> {
  const fd = fdOf(socket);
  if (fd === undefined) throw new Error("the connection has no descriptor");
  const buffer = Buffer.alloc(n);
  let got = 0;
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (got < n) {
    let read: number | undefined;
    try {
      read = readSync(fd, buffer, got, n - got, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    }
    if (read === 0) throw new Error(`the connection closed after ${got} of ${n} bytes`);
    if (read === undefined) {
      if (Date.now() > deadline) throw new Error(`${got} of ${n} bytes within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 50);
      continue;
    }
    got += read;
  }
  return buffer;
}
