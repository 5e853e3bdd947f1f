/**
 * `xm save` / `xm restore` on the qemu driver (HypervisorDriver.saveTo / restoreFrom), QEMU-style:
 * a save is a migration to a file, a restore a QEMU started with `-incoming defer` fed that file.
 *
 * QEMU runs sandboxed (spawn=deny: no `exec:` migration) and maybe as another user
 * (config/qemu-user) that may not write the caller's folder, so xend carries the stream itself:
 * on save QEMU migrates to a Unix socket xend listens on in the guest's 0700 run directory, and
 * xend appends what arrives to the file it began (save-image.ts), hashing as it goes; on restore
 * QEMU listens on a Unix socket of its own there and xend streams the payload into it, hashing
 * it again (the file may have changed since xend checked it). Neither side holds the stream in
 * memory: pipes with backpressure, 1 MiB reads.
 *
 * The payload is a short head of ours, then QEMU's own stream (which checks itself: section
 * markers, device state, machine type):
 *
 *   "XVM-QEMU-STATE\n"  JSON line {"version":1,"qemu":"7.2.0","machine":"pc-i440fx-7.2"}  "\n"
 *   QEMU migration stream ("QEVM" …)
 *
 * so a restore can name the QEMU that wrote a stream this QEMU cannot load.
 */
import { createHash } from "node:crypto";
import { chmodSync, chownSync, closeSync, createReadStream, createWriteStream, openSync, readSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { XvmError, errorMessage } from "../../errors.ts";
import type { GuestInfo, GuestSpec, RestoreOptions, SaveOptions, SavedState } from "../driver.ts";
// QEMU's default max-bandwidth is 128 MiB/s: a save to a local file must not be capped either.
import { UNLIMITED_BYTES_PER_S } from "./migration.ts";

export const QEMU_SAVE_FORMAT = "qemu-migration-1";
const HEAD_MAGIC = "XVM-QEMU-STATE\n";
/** The head is one short JSON line; anything longer is not ours. */
const MAX_HEAD = 4096;
const SAVE_SOCKET = "save.sock";
const RESTORE_SOCKET = "restore.sock";

export interface SaveHost {
  readonly user?: { uid: number; gid: number };
  dir(domid: number): string;
  command<T = unknown>(domid: number, command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  qemuVersionText(): Promise<string>;
  create(spec: GuestSpec): Promise<GuestInfo>;
  destroy(domid: number): Promise<void>;
  info(domid: number): Promise<GuestInfo>;
  settleIncoming(domid: number): void;
  /** The end of the guest's QEMU log (why a QEMU exited). */
  logTail(domid: number): string;
}

interface QueryMigrate {
  status?: string;
  "error-desc"?: string;
  ram?: { transferred?: number; total?: number; remaining?: number };
}

interface SaveHead {
  version: number;
  qemu: string;
  machine: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Counts and hashes what passes through. */
function tap(hash: ReturnType<typeof createHash>, onBytes: (n: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
}

/** QEMU's versioned name of the machine the guest runs (`pc` → `pc-i440fx-7.2`). */
async function machineOf(host: SaveHost, domid: number): Promise<string> {
  const type = await host.command<string>(domid, "qom-get", { path: "/machine", property: "type" }).catch(() => "");
  return String(type).replace(/-machine$/, "") || "unknown";
}

/**
 * Appends the guest's state to `path` (xend wrote the header): QEMU migrates to a socket xend
 * listens on, xend writes and hashes what arrives. The guest stays stopped (postmigrate) for
 * xend to destroy or continue.
 */
export async function saveTo(host: SaveHost, domid: number, path: string, options: SaveOptions): Promise<SavedState> {
  const dir = host.dir(domid);
  // QEMU runs one migration at a time: a live migration under way is not ours to re-tune or cancel.
  const before = (await host.command<QueryMigrate>(domid, "query-migrate")).status ?? "none";
  if (["setup", "active", "device", "pre-switchover", "cancelling", "postcopy-active", "wait-unplug"].includes(before)) {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: domid, state: "being migrated", action: "save" });
  }
  const head: SaveHead = { version: 1, qemu: await host.qemuVersionText(), machine: await machineOf(host, domid) };
  const headBytes = Buffer.from(`${HEAD_MAGIC}${JSON.stringify(head)}\n`, "utf8");
  const hash = createHash("sha256");
  hash.update(headBytes);
  let bytes = headBytes.length;
  const out = createWriteStream(path, { flags: "a" });
  const socketPath = join(dir, SAVE_SOCKET);
  let streamError: Error | undefined;
  let streamed: Promise<void> | undefined;
  let qemuSocket: Socket | undefined;
  let server: Server | undefined;
  let started = false;
  try {
    await new Promise<void>((resolve, reject) => out.write(headBytes, (error) => (error ? reject(error) : resolve())));
    rmSync(socketPath, { force: true });
    const listening: Server = createServer((socket) => {
      // One stream, from the guest's QEMU (the socket is 0600 in a 0700 folder).
      if (qemuSocket) {
        socket.destroy();
        return;
      }
      qemuSocket = socket;
      listening.close();
      streamed = pipeline(socket, tap(hash, (n) => (bytes += n)), out).catch((error: Error) => {
        streamError ??= error;
      });
    });
    server = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(socketPath, () => resolve());
    });
    chmodSync(socketPath, 0o600);
    // QEMU running as config/qemu-user connects to this socket xend made.
    if (host.user) chownSync(socketPath, host.user.uid, host.user.gid);
    await host.command(domid, "migrate-set-parameters", { "max-bandwidth": UNLIMITED_BYTES_PER_S });
    await host.command(domid, "migrate", { uri: `unix:${socketPath}` });
    started = true;
    for (;;) {
      const q = await host.command<QueryMigrate>(domid, "query-migrate");
      const s = q.status ?? "none";
      if (q.ram?.total) options.onProgress?.(Math.min(q.ram.transferred ?? 0, q.ram.total), q.ram.total);
      if (s === "completed") break;
      if (s === "failed" || s === "cancelled") throw new Error(streamError?.message ?? q["error-desc"] ?? `QEMU's migration ${s}`);
      if (streamError) throw streamError;
      await sleep(s === "setup" ? 10 : 50);
    }
    // QEMU closes its end once the stream is complete; the file then has all of it.
    if (!streamed) throw new Error("QEMU reported the save complete without connecting");
    await streamed;
    if (streamError) throw streamError;
    const q = await host.command<QueryMigrate>(domid, "query-migrate").catch(() => undefined);
    if (q?.ram?.total) options.onProgress?.(q.ram.total, q.ram.total);
    return { format: QEMU_SAVE_FORMAT, bytes, sha256: hash.digest("hex") };
  } catch (error) {
    if (started) await host.command(domid, "migrate_cancel").catch(() => {});
    qemuSocket?.destroy();
    throw new XvmError("SAVE_FAILED", { dom: domid, detail: errorMessage(error) });
  } finally {
    server?.close();
    rmSync(socketPath, { force: true });
    if (!out.closed && !out.destroyed && !out.writableEnded) await new Promise<void>((resolve) => out.end(() => resolve()));
  }
}

/** Reads and checks the payload's head; returns it and its length. */
function readHead(path: string, options: RestoreOptions): { head: SaveHead; length: number } {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(Math.min(MAX_HEAD, options.bytes));
    const n = readSync(fd, buf, 0, buf.length, options.offset);
    const text = buf.subarray(0, n).toString("latin1");
    const bad = (detail: string) => new XvmError("SAVE_FILE_BAD", { path, detail });
    if (!text.startsWith(HEAD_MAGIC)) throw bad("corrupt: the saved state is not a QEMU state this driver wrote");
    const nl = text.indexOf("\n", HEAD_MAGIC.length);
    if (nl < 0) throw bad("corrupt: the QEMU state's head does not end");
    let head: SaveHead;
    try {
      head = JSON.parse(buf.subarray(HEAD_MAGIC.length, nl).toString("utf8")) as SaveHead;
    } catch {
      throw bad("corrupt: the QEMU state's head is not JSON");
    }
    if (head.version !== 1) throw bad(`the QEMU state has head version ${head.version}; this xvm reads version 1`);
    return { head, length: nl + 1 };
  } finally {
    closeSync(fd);
  }
}

/**
 * Starts the guest's QEMU waiting for its state (`-incoming defer`, stopped), streams the payload
 * into it and waits until QEMU has loaded everything. On any failure the QEMU is ended again.
 */
export async function restoreFrom(host: SaveHost, path: string, spec: GuestSpec, options: RestoreOptions): Promise<GuestInfo> {
  const { head, length } = readHead(path, options);
  const here = await host.qemuVersionText();
  await host.create({ ...spec, paused: true, incoming: true });
  const domid = spec.domid;
  const dir = host.dir(domid);
  const socketPath = join(dir, RESTORE_SOCKET);
  let socket: Socket | undefined;
  try {
    await host.command(domid, "migrate-incoming", { uri: `unix:${socketPath}` });
    const hash = createHash("sha256");
    let done = 0;
    const total = options.bytes;
    const progress = (n: number) => {
      done += n;
      options.onProgress?.(done, total);
    };
    socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection({ path: socketPath }, () => resolve(s));
      s.once("error", reject);
    });
    // QEMU may stop reading (a stream it cannot load): its exit is reported below, with its log.
    let sendError: Error | undefined;
    const headStream = createReadStream(path, { start: options.offset, end: options.offset + length - 1 });
    for await (const chunk of headStream) {
      hash.update(chunk as Buffer);
      progress((chunk as Buffer).length);
    }
    const sent = options.bytes > length
      ? pipeline(
        createReadStream(path, { start: options.offset + length, end: options.offset + options.bytes - 1, highWaterMark: 2 ** 20 }),
        tap(hash, progress),
        socket,
      ).catch((error: Error) => {
        sendError = error;
      })
      : Promise.resolve(socket.end());
    // QEMU leaves `inmigrate` for `paused` (-S) once the whole stream is loaded; one it cannot
    // load makes it exit.
    for (;;) {
      let status: string;
      try {
        status = (await host.command<{ status: string }>(domid, "query-status")).status;
      } catch {
        // QEMU exits when it cannot load a stream; its log says why.
        throw new Error(`QEMU could not load the saved state: ${host.logTail(domid)}`);
      }
      if (status === "paused" || status === "running") break;
      if (status !== "inmigrate") throw new Error(`QEMU is ${status} instead of loading the saved state: ${host.logTail(domid)}`);
      await sleep(20);
    }
    await sent;
    if (sendError && done < total) throw sendError;
    if (done !== total) throw new XvmError("SAVE_FILE_BAD", { path, detail: `truncated: the saved state ends after ${done} of ${total} bytes` });
    if (hash.digest("hex") !== options.sha256) throw new XvmError("SAVE_FILE_BAD", { path, detail: "corrupt: the saved state does not match its checksum (the file changed while it was read)" });
    host.settleIncoming(domid);
    return await host.info(domid);
  } catch (error) {
    socket?.destroy();
    await host.destroy(domid).catch(() => {});
    if (error instanceof XvmError) throw error;
    const other = head.qemu !== here ? ` (saved by QEMU ${head.qemu}, machine ${head.machine}; this is QEMU ${here})` : "";
    throw new XvmError("RESTORE_FAILED", { detail: `${errorMessage(error)}${other}` });
  } finally {
    rmSync(socketPath, { force: true });
  }
}
