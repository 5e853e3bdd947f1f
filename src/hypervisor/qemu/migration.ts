/**
 * Live migration of a QEMU guest between two xend hosts, QEMU-style: the destination's QEMU waits
 * with `-incoming defer`. The stream travels over one TCP connection that the destination's xend
 * accepts once, from the source's address only, and only after the 16-byte one-time token it
 * handed out through the (authenticated) relocation connection; it answers one byte (ACK) when
 * ready, and the source sends nothing more until then. No QEMU port is ever open to the network.
 *
 * Then each xend hands that connection itself to its QEMU (QMP `getfd` with the descriptor
 * attached, `migrate`/`migrate-incoming` to `fd:`), so the stream runs QEMU to QEMU as fast as a
 * direct migration. Where the runtime cannot pass descriptors (runtime/fd-pass.ts) or
 * XVM_QEMU_MIGRATION_RELAY=1 asks for it, xend relays instead: QEMU ⇄ a Unix socket in the
 * guest's 0700 run directory ⇄ xend ⇄ the TCP connection. The two ends choose independently.
 * QEMU checks the stream itself (section markers, device state); the destination stays paused
 * until xend commits.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, chownSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { XvmError, errorMessage } from "../../errors.ts";
import type {
  IncomingMigration, IncomingOptions, MigrateOutOptions, MigrationEndpoint, MigrationLimits, MigrationProgress, MigrationStats,
} from "../driver.ts";
import { bulkTcp, readExactly } from "../../runtime/fd-pass.ts";
import { eventNap } from "./event-nap.ts";
import type { QmpEvent } from "./qmp.ts";

export const TOKEN_BYTES = 16;
/** The destination's answer to a good token: ready for the stream. */
const ACK = Buffer.from([1]);
const INCOMING_SOCKET = "incoming.sock";
const OUTGOING_SOCKET = "outgoing.sock";
/** The name the stream's descriptor gets in QEMU's monitor (getfd). */
const STREAM_FD = "xvm-migration";
/** QEMU's default max-bandwidth is 128 MiB/s; "unlimited" here is far above any link it meets. */
export const UNLIMITED_BYTES_PER_S = 64 * 1024 ** 3;

export interface MigrationHost {
  readonly user?: { uid: number; gid: number };
  dir(domid: number): string;
  command<T = unknown>(domid: number, command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** A QMP command with `carried`'s descriptor attached (where carriesFds says it can). */
  commandWithFd?<T = unknown>(domid: number, command: string, args: Record<string, unknown>, carried: Socket): Promise<T>;
  /** Whether commandWithFd works for this guest now. */
  carriesFds?(domid: number): Promise<boolean>;
  respawn(domid: number, extra: string[], incoming?: boolean): Promise<void>;
  settleIncoming(domid: number): void;
  isIncoming(domid: number): boolean;
  watchEvents(domid: number, listener: (event: QmpEvent) => void): () => void;
}

interface QueryMigrate {
  status?: string;
  "total-time"?: number;
  downtime?: number;
  "setup-time"?: number;
  "expected-downtime"?: number;
  "error-desc"?: string;
  "cpu-throttle-percentage"?: number;
  ram?: {
    transferred?: number;
    remaining?: number;
    total?: number;
    duplicate?: number;
    normal?: number;
    "dirty-sync-count"?: number;
    mbps?: number;
    "dirty-pages-rate"?: number;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Whether to hand the stream to QEMU (both ends decide for themselves). */
async function direct(host: MigrationHost, domid: number): Promise<boolean> {
  if (process.env.XVM_QEMU_MIGRATION_RELAY === "1" || !host.commandWithFd || !host.carriesFds) return false;
  return host.carriesFds(domid).catch(() => false);
}

function plainAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}

/** Pipes two sockets both ways; resolves when both are closed, with the bytes a → b. */
function relay(a: Socket, b: Socket): Promise<number> {
  let bytes = 0;
  a.on("data", (d: Buffer) => (bytes += d.length));
  a.pipe(b);
  b.pipe(a);
  return new Promise((resolve) => {
    let open = 2;
    const done = () => {
      if (--open === 0) resolve(bytes);
    };
    for (const s of [a, b]) {
      s.on("error", () => {
        a.destroy();
        b.destroy();
      });
      s.once("close", () => {
        (s === a ? b : a).end();
        done();
      });
    }
  });
}

function toStats(q: QueryMigrate, status: MigrationStats["status"]): MigrationStats {
  const ram = q.ram ?? {};
  return {
    status,
    totalTimeMs: q["total-time"] ?? 0,
    downtimeMs: q.downtime ?? 0,
    setupTimeMs: q["setup-time"] ?? 0,
    transferredBytes: ram.transferred ?? 0,
    remainingBytes: ram.remaining ?? 0,
    totalBytes: ram.total ?? 0,
    zeroPages: ram.duplicate ?? 0,
    normalPages: ram.normal ?? 0,
    rounds: ram["dirty-sync-count"] ?? 0,
    throughputMbps: ram.mbps ?? 0,
    dirtyPagesRate: ram["dirty-pages-rate"] ?? 0,
    throttlePercent: q["cpu-throttle-percentage"] ?? 0,
    ...(q["error-desc"] ? { errorDesc: q["error-desc"] } : {}),
  };
}

/** Destination: QEMU again with `-incoming defer`, a one-time TCP endpoint for the source. */
export async function prepareIncoming(host: MigrationHost, domid: number, options: IncomingOptions): Promise<IncomingMigration> {
  const dir = host.dir(domid);
  // A guest created for the migration (GuestSpec.incoming) already waits with -incoming defer;
  // one created otherwise never ran, and starts again that way.
  if (!host.isIncoming(domid)) await host.respawn(domid, ["-incoming", "defer"], true);
  const handOver = await direct(host, domid);
  // MIGRATION events end the wait below without polling a QEMU that is busy loading.
  await host.command(domid, "migrate-set-capabilities", { capabilities: [{ capability: "events", state: true }] });
  const qemuSocket = join(dir, INCOMING_SOCKET);
  if (!handOver) {
    rmSync(qemuSocket, { force: true });
    await host.command(domid, "migrate-incoming", { uri: `unix:${qemuSocket}` });
    try {
      chmodSync(qemuSocket, 0o600);
    } catch {
      // in a 0700 directory anyway
    }
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const token = randomBytes(TOKEN_BYTES);
  let stream: Socket | undefined;
  let upstream: Socket | undefined;
  let relayed: number | undefined;
  let failed: Error | undefined;
  let fail!: (error: Error) => void;
  const failure = new Promise<never>((_, reject) => (fail = (error) => {
    failed ??= error;
    reject(failed);
  }));
  failure.catch(() => {});
  // A MIGRATION event (QEMU's incoming state changed) ends the current wait, or the next one if
  // it came while a query was out.
  const incoming = eventNap();
  let loaded = false;
  let finalFigures: Promise<QueryMigrate> | undefined;
  const unwatch = host.watchEvents(domid, (e) => {
    if (e.event !== "MIGRATION") return;
    // QEMU says completed a moment before it leaves `inmigrate` (a bottom half does that); its
    // figures are asked for at once, off the path to the guest's start.
    if (e.data?.status === "completed" && !loaded) {
      loaded = true;
      finalFigures = host.command<QueryMigrate>(domid, "query-migrate").catch(() => ({}) as QueryMigrate);
    }
    incoming.wake();
  });

  /** The source's last report of bytes sent, and when it last grew (the stall check). */
  const progressed = { bytes: -1, at: Date.now() };

  /** The token was good: QEMU gets the connection (or xend relays it), then the source its ACK. */
  const accept = async (socket: Socket) => {
    if (handOver) {
      // From here xend does not see the stream: the stall check goes by the source's reports.
      socket.setTimeout(0);
      progressed.at = Date.now();
      bulkTcp(socket);
      // QMP runs them in order: the descriptor is there before migrate-incoming looks for it.
      await Promise.all([
        host.commandWithFd!(domid, "getfd", { fdname: STREAM_FD }, socket),
        host.command(domid, "migrate-incoming", { uri: `fd:${STREAM_FD}` }),
      ]);
      // xend keeps its copy, unread, until the end (closing it could end the stream too early).
      socket.write(ACK);
      return;
    }
    upstream = createConnection({ path: qemuSocket });
    upstream.on("error", (error) => fail(new Error(`QEMU's incoming socket: ${error.message}`)));
    await new Promise<void>((resolve) => upstream!.once("connect", resolve));
    socket.write(ACK);
    void relay(socket, upstream).then((n) => (relayed = n));
    socket.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (socket) => {
    // One source, from the address the relocation connection came from, with the token.
    if (stream || (options.allowFrom && plainAddress(socket.remoteAddress) !== plainAddress(options.allowFrom))) {
      socket.destroy();
      return;
    }
    stream = socket;
    server.close();
    socket.on("error", () => {});
    socket.setTimeout(timeoutMs, () => {
      fail(new Error("the migration stream stalled"));
      socket.destroy();
    });
    // The token is read from the descriptor itself: the runtime's reader would read ahead into
    // the stream the socket is handed on with.
    readExactly(socket, TOKEN_BYTES, timeoutMs)
      .then(async (head) => {
        if (!timingSafeEqual(head, token)) throw new Error(`wrong migration token from ${plainAddress(socket.remoteAddress)}`);
        await accept(socket).catch((error) => {
          throw new Error(`could not start receiving the stream: ${errorMessage(error)}`);
        });
      })
      .catch((error: Error) => {
        fail(error);
        socket.destroy();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.bindAddress, port: 0 }, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const connectTimer = setTimeout(() => {
    if (!stream) fail(new Error(`the source did not connect within ${timeoutMs} ms`));
  }, timeoutMs);
  const started = Date.now();

  const verified = (async (): Promise<MigrationStats> => {
    // The destination QEMU leaves `inmigrate` for `paused` once everything arrived and loaded
    // (-S keeps it stopped); a stream it cannot load makes it exit. With the stream handed over,
    // xend does not see it: the source's PROGRESS reports tell a stalled stream from a slow one.
    for (;;) {
      if (failed) throw failed;
      let status: string;
      try {
        status = (await Promise.race([host.command<{ status: string }>(domid, "query-status"), failure])).status;
      } catch (error) {
        throw failed ?? new Error(`the destination QEMU failed to load the migration stream: ${errorMessage(error)}`);
      }
      if (status === "paused" || status === "running") break;
      if (status !== "inmigrate") throw new Error(`the destination QEMU is ${status}`);
      if (handOver && stream && options.sourceReportsProgress && Date.now() - progressed.at > timeoutMs) {
        fail(new Error("the migration stream stalled"));
      }
      await Promise.race([incoming.nap(loaded ? 2 : 100), failure]);
    }
    clearTimeout(connectTimer);
    const q = await (finalFigures ?? host.command<QueryMigrate>(domid, "query-migrate").catch(() => ({}) as QueryMigrate));
    const stats = toStats(q, "completed");
    return { ...stats, ...(relayed !== undefined ? { transferredBytes: relayed } : {}), totalTimeMs: Date.now() - started };
  })();
  verified.catch(() => {});

  const close = () => {
    clearTimeout(connectTimer);
    unwatch();
    server.close();
    stream?.destroy();
    upstream?.destroy();
  };
  return {
    endpoint: { host: options.bindAddress, port, token: token.toString("hex"), ack: true },
    verified,
    sourceProgress(bytes: number) {
      if (bytes > progressed.bytes) Object.assign(progressed, { bytes, at: Date.now() });
    },
    async commit(start: boolean) {
      close();
      // The guest runs first (the downtime lasts until then), then its state file says it is
      // this host's (a write and two fsyncs). An xend dying in between leaves an `incoming` guest
      // that its next start removes, while the source, never told DONE, resumes its copy.
      if (start) await host.command(domid, "cont");
      host.settleIncoming(domid);
    },
    async abort(reason: string) {
      fail(new Error(reason));
      close();
    },
  };
}

interface Outgoing {
  wasRunning: boolean;
  /** The relay's Unix socket QEMU connects to (relay mode only). */
  server?: Server;
  /** xend's copy of the stream connection, kept unread until the end. */
  tcp?: Socket;
}

const outgoing = new Map<string, Outgoing>();

/** Connects to the destination's stream endpoint and shows the token; with `ack`, waits for the answer. */
async function openStream(target: MigrationEndpoint, token: Buffer, timeoutMs: number): Promise<Socket> {
  // allowHalfOpen: the destination's end of the stream must not make xend shut down QEMU's side.
  const tcp = createConnection({ host: target.host, port: target.port, allowHalfOpen: true });
  tcp.on("error", () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        tcp.off("error", done);
        tcp.off("close", closed);
        if (error) reject(error);
        else resolve();
      };
      const closed = () => done(new Error("the destination closed the connection (token refused?)"));
      tcp.once("error", done);
      tcp.once("close", closed);
      tcp.once("connect", () => {
        tcp.write(token);
        if (!target.ack) return done();
        tcp.once("data", (answer: Buffer) => {
          tcp.pause();
          done(answer.length === 1 && answer[0] === ACK[0] ? undefined : new Error("an unexpected answer to the token"));
        });
      });
    });
  } catch (error) {
    tcp.destroy();
    throw new Error(`the destination's stream endpoint ${target.host}:${target.port}: ${errorMessage(error)}`);
  }
  tcp.pause();
  return tcp;
}

/**
 * Source, while the destination prepares: the migration's capabilities and limits go to QEMU now,
 * so that migrateOut only opens the stream and starts it. A failure shows in migrateOut.
 */
export function prepareMigrateOut(host: MigrationHost, domid: number, options: Asked): void {
  const limits = configure(host, domid, options);
  limits.catch(() => {});
  configured.set(host.dir(domid), { asked: asked(options), limits });
}

/** Source: QEMU gets the stream connection to the destination (or migrates to a Unix socket xend relays). */
export async function migrateOut(host: MigrationHost, domid: number, target: MigrationEndpoint, options: MigrateOutOptions): Promise<MigrationStats> {
  const dir = host.dir(domid);
  const key = dir;
  if (outgoing.has(key)) throw new XvmError("DOMAIN_BAD_STATE", { dom: domid, state: "being migrated", action: "migrate" });
  const token = Buffer.from(target.token, "hex");
  if (token.length !== TOKEN_BYTES) throw new XvmError("MIGRATE_FAILED", { dom: domid, detail: `the migration token must be ${TOKEN_BYTES} bytes` });
  const status = await host.command<{ status: string; running: boolean }>(domid, "query-status");
  const qemuSocket = join(dir, OUTGOING_SOCKET);
  let relayError: Error | undefined;
  const out: Outgoing = { wasRunning: status.running };
  outgoing.set(key, out);
  let stoppedAt: number | undefined;
  const { wake, nap } = eventNap();
  const unwatch = host.watchEvents(domid, (e) => {
    if (e.event === "STOP" && e.timestamp && stoppedAt === undefined) stoppedAt = e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000;
    // A change of migration status (completed, failed, …) ends the wait for the next poll: the
    // caller's downtime runs until it has settled the outcome, so a late poll would count in it.
    if (e.event === "MIGRATION") wake();
  });
  const cleanup = () => {
    unwatch();
    out.server?.close();
    out.tcp?.destroy();
    rmSync(qemuSocket, { force: true });
  };
  try {
    const tcp = (out.tcp = await openStream(target, token, 30_000));
    let uri: string;
    const handOver = await direct(host, domid);
    if (handOver) {
      bulkTcp(tcp);
      await host.commandWithFd!(domid, "getfd", { fdname: STREAM_FD }, tcp);
      uri = `fd:${STREAM_FD}`;
    } else {
      tcp.on("error", (error) => (relayError ??= new Error(`the destination's stream endpoint ${target.host}:${target.port}: ${error.message}`)));
      rmSync(qemuSocket, { force: true });
      const server = (out.server = createServer((qemu) => {
        server.close();
        tcp.once("error", () => qemu.destroy());
        void relay(qemu, tcp);
      }));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(qemuSocket, () => resolve());
      });
      chmodSync(qemuSocket, 0o600);
      // QEMU running as config/qemu-user connects to this socket xend made.
      if (host.user) chownSync(qemuSocket, host.user.uid, host.user.gid);
      uri = `unix:${qemuSocket}`;
    }
    const early = configured.get(key);
    configured.delete(key);
    const limits = await (early?.asked === asked(options) ? early.limits : configure(host, domid, options));
    // Not live: the guest stops first and its memory is copied once (xm migrate without --live).
    if (!options.live && status.running) await host.command(domid, "stop");
    await host.command(domid, "migrate", { uri });
    let cancelled = false;
    const onAbort = () => {
      cancelled = true;
      void host.command(domid, "migrate_cancel").catch(() => {});
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      let q: QueryMigrate;
      for (;;) {
        q = await host.command<QueryMigrate>(domid, "query-migrate");
        const s = q.status ?? "none";
        if (s === "completed") {
          // query-migrate may say completed before it fills in total-time and downtime.
          for (let i = 0; i < 20 && (q["total-time"] === undefined || q.downtime === undefined); i++) {
            await sleep(10);
            q = await host.command<QueryMigrate>(domid, "query-migrate");
          }
          break;
        }
        if (s === "failed" || s === "cancelled") {
          const why = cancelled ? String(options.signal?.reason ?? "cancelled") : relayError?.message ?? q["error-desc"] ?? s;
          throw new XvmError("MIGRATE_FAILED", { dom: domid, detail: why });
        }
        if (options.onProgress && q.ram) options.onProgress({ ...progressOf(q), limits });
        await nap(s === "setup" ? 20 : 100);
      }
      const stats: MigrationStats = { ...toStats(q, "completed"), limits };
      if (stoppedAt !== undefined) stats.stoppedAtEpochMs = stoppedAt;
      stats.switchover = "converged";
      stats.streamPath = handOver ? "handed to QEMU" : "relayed by xend";
      options.onProgress?.({ ...progressOf(q), status: "completed", percent: 100, phase: "stop-and-copy", limits });
      return stats;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  } catch (error) {
    // QEMU resumes a live guest itself when a migration fails; one stopped for a non-live
    // migration is resumed here.
    outgoing.delete(key);
    cleanup();
    if (out.wasRunning) {
      const now = await host.command<{ status: string; running: boolean }>(domid, "query-status").catch(() => undefined);
      if (now && !now.running) await host.command(domid, "cont").catch(() => {});
    }
    throw error instanceof XvmError ? error : new XvmError("MIGRATE_FAILED", { dom: domid, detail: errorMessage(error) });
  } finally {
    if (!outgoing.has(key)) cleanup();
    else unwatch();
  }
}

/** Limits set early (prepareMigrateOut), by guest folder, for the migrateOut that follows. */
const configured = new Map<string, { asked: string; limits: Promise<MigrationLimits> }>();

type Asked = Pick<MigrateOutOptions, "autoConverge" | "maxDowntimeMs" | "maxBandwidth">;
const asked = (o: Asked) => JSON.stringify([o.autoConverge ?? true, o.maxDowntimeMs, o.maxBandwidth ?? 0]);

/**
 * The migration's capabilities and limits, then what QEMU took (the API shows those with the
 * progress, so a limit that did not reach QEMU shows). QMP answers in order: the four go at once.
 */
async function configure(host: MigrationHost, domid: number, options: Asked): Promise<MigrationLimits> {
  const [, , p, caps] = await Promise.all([
    host.command(domid, "migrate-set-capabilities", {
      capabilities: [{ capability: "auto-converge", state: options.autoConverge ?? true }, { capability: "events", state: true }],
    }),
    host.command(domid, "migrate-set-parameters", {
      "downtime-limit": Math.max(1, Math.round(options.maxDowntimeMs)),
      "max-bandwidth": options.maxBandwidth && options.maxBandwidth > 0 ? Math.round(options.maxBandwidth) : UNLIMITED_BYTES_PER_S,
    }),
    host.command<{ "downtime-limit"?: number; "max-bandwidth"?: number }>(domid, "query-migrate-parameters"),
    host.command<{ capability: string; state: boolean }[]>(domid, "query-migrate-capabilities"),
  ]);
  return {
    downtimeLimitMs: p["downtime-limit"] ?? 0,
    maxBandwidth: p["max-bandwidth"] ?? 0,
    autoConverge: caps.find((c) => c.capability === "auto-converge")?.state === true,
  };
}

function progressOf(q: QueryMigrate): MigrationProgress {
  const ram = q.ram ?? {};
  const total = ram.total ?? 0;
  const remaining = ram.remaining ?? 0;
  return {
    ...toStats(q, (q.status === "setup" ? "setup" : "active") as MigrationStats["status"]),
    round: Math.max(1, ram["dirty-sync-count"] ?? 1),
    remainingPages: Math.ceil(remaining / 4096),
    percent: total > 0 ? Math.min(99, Math.round((100 * (total - remaining)) / total)) : 0,
    phase: q.status === "setup" ? "setup" : q.status === "device" ? "stop-and-copy" : "precopy",
    expectedDowntimeMs: q["expected-downtime"] ?? 0,
  };
}

/** After migrateOut: committed = the destination runs the guest; otherwise it runs here again. */
export async function finishMigrateOut(host: MigrationHost, domid: number, committed: boolean): Promise<void> {
  const key = host.dir(domid);
  const out = outgoing.get(key);
  outgoing.delete(key);
  out?.server?.close();
  out?.tcp?.destroy();
  rmSync(join(key, OUTGOING_SOCKET), { force: true });
  if (committed || !out) return;
  const now = await host.command<{ status: string; running: boolean }>(domid, "query-status");
  // After a completed migration QEMU waits in postmigrate; `cont` runs the guest here again.
  if (out.wasRunning && !now.running) await host.command(domid, "cont");
}
