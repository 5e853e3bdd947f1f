/**
 * The source side of `xm migrate`: talks to the destination's relocation server, has the driver
 * stream the guest to the endpoint the destination prepared, and decides the outcome.
 *
 * The guest is never lost: it is renamed `migrating-<name>` for the duration (as xend did) and only
 * destroyed here once the destination has verified memory and vCPU state, started the guest and
 * said DONE. Every failure before that (refused, destination dead, out of memory there, link
 * broken, checksum failed, timeout) leaves it running here under its own name with its memory as
 * it was — the driver resumes it — and tells the destination to drop what it received.
 *
 * The one window this cannot close is the classic one: after the destination started the guest and
 * before its DONE arrives, a broken link makes the source resume too (xend had the same window, and
 * so does any two-party protocol); it is as short as one message.
 */
import { connect, type Socket } from "node:net";
import { connectPeer, domainToSxp, errorMessage, faultPoint, PeerAuthError, RELOCATION_AUTH_PURPOSE, XvmError, type DomainManager, type DomainSummary, type HypervisorDriver, type Logger, type MigrationProgress, type MigrationStats } from "xvm/plugin";
import { detailOf } from "./channel.ts";
import { Channel, Msg, errorText, field, msgName, type Message } from "./channel.ts";
import type { MigrationRecords } from "./records.ts";
import { forgetOutgoing, noteOutgoing } from "./outgoing.ts";
import type { MigrationRecord } from "./records.ts";
import { helloProblem, helloSxp } from "./receive.ts";

export interface MigrateRequest {
  domain: string | number;
  host: string;
  /** 0 or absent: this daemon's own `xend-relocation-port`, as xend did. */
  port?: number;
  live: boolean;
  /** Overrides `xend-relocation-max-downtime` (ms). */
  maxDowntimeMs?: number;
  /** Bandwidth limit in Mbit/s (xm migrate -r); 0 = none. */
  resource?: number;
}

export interface MigrateResult {
  domain: string;
  domid: number;
  destination: string;
  /** The domain's id on the destination. */
  remoteDomid: number;
  live: boolean;
  stats: MigrationStats;
}

export interface SendDeps {
  /** var/run/xend: test fault points, and the note of a migration going out (outgoing.ts). */
  runDir: string;
  domains: DomainManager;
  hypervisor: HypervisorDriver;
  log: Logger;
  records: MigrationRecords;
  config(): { port: number; maxDowntimeMs: number };
  /** The relocation key in force (throws when there is none usable). */
  key(): Buffer;
}

const CONNECT_TIMEOUT_MS = 30_000;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** The destination creates the domain and prepares its endpoint within this. */
const READY_TIMEOUT_MS = 60_000;
const DONE_TIMEOUT_MS = 30_000;
/** PROGRESS to the destination at most this often. */
const PROGRESS_EVERY_MS = 1_000;
const PREFIX = "migrating-";

function size(bytes: number): string {
  return bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

function fail(dom: string, detail: string): XvmError {
  return new XvmError("MIGRATE_FAILED", { dom, detail });
}

/** Connects and authenticates (both ways) before the first relocation message. */
export async function openChannel(host: string, port: number, key: Buffer): Promise<Channel> {
  const socket = await connectTo(host, port);
  try {
    await connectPeer(socket, key, { purpose: RELOCATION_AUTH_PURPOSE, timeoutMs: HANDSHAKE_TIMEOUT_MS });
  } catch (error) {
    socket.destroy();
    const where = `${host}:${port}`;
    if (error instanceof PeerAuthError && error.reason === "closed") {
      throw new XvmError("MIGRATE_REFUSED", { detail: `the relocation server at ${where} closed the connection without answering; is this host allowed by its xend-relocation-hosts-allow?` });
    }
    if (error instanceof PeerAuthError && error.reason === "bad-key") {
      throw new XvmError("MIGRATE_REFUSED", { detail: `the relocation server at ${where} does not share this host's relocation key (${error.message}); copy the key: see 'xm relocation-key --help'` });
    }
    throw new XvmError("MIGRATE_REFUSED", { detail: `the relocation server at ${where} failed the authentication: ${errorMessage(error)}` });
  }
  const channel = new Channel(socket);
  socket.resume();
  return channel;
}

function connectTo(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`can't connect: ${host}:${port}: timed out after ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`can't connect: ${host}:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`));
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

function checkMigratable(d: DomainSummary): void {
  if (d.domid === 0) throw new XvmError("DOMAIN_PRIVILEGED", { action: "migrate", dom: d.name });
  if (d.domid === null) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: "not running", action: "migrate" });
  if (d.flags.shutdown || d.flags.crashed || d.flags.dying) {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: d.flags.crashed ? "crashed" : d.flags.dying ? "dying" : "shut down", action: "migrate" });
  }
}

export async function migrateDomain(deps: SendDeps, request: MigrateRequest, onProgress?: (p: MigrationProgress) => void): Promise<MigrateResult> {
  const { domains, hypervisor: driver, log } = deps;
  const domain = await domains.get(request.domain);
  checkMigratable(domain);
  if (!driver.migrateOut || !driver.finishMigrateOut) {
    throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `live migration on the ${driver.name} hypervisor` });
  }
  const name = domain.name;
  if (name.startsWith(PREFIX)) throw new XvmError("DOMAIN_BAD_STATE", { dom: name, state: "being migrated", action: "migrate" });
  const domid = domain.domid!;
  const cfg = deps.config();
  const port = request.port || cfg.port;
  const maxDowntimeMs = request.maxDowntimeMs ?? cfg.maxDowntimeMs;
  const destination = `${request.host}:${port}`;
  const rec = deps.records.start({ direction: "out", domain: name, domid, peer: destination, live: request.live });
  log.info(`Migrating domain ${name} (${domid}) to ${destination}${request.live ? " (live)" : ""}`);

  let channel: Channel | undefined;
  let renamed = false;
  let started = false;
  let stats: MigrationStats | undefined;
  let remoteDomid = -1;
  let readyAt = 0;
  let progressSentAt = 0;
  let streamedAt = 0;
  try {
    let key: Buffer;
    try {
      key = deps.key();
    } catch (error) {
      throw fail(name, `no usable relocation key on this host: ${errorMessage(error)}`);
    }
    try {
      channel = await openChannel(request.host, port, key);
    } catch (error) {
      throw error instanceof XvmError && error.code === "MIGRATE_REFUSED" ? error : fail(name, detailOf(error));
    }
    channel.send(Msg.HELLO, helloSxp());
    let hello: Message;
    try {
      hello = await channel.next(HANDSHAKE_TIMEOUT_MS, "answer from the relocation server");
    } catch (error) {
      throw new XvmError("MIGRATE_REFUSED", {
        detail: `the relocation server at ${destination} closed the connection without answering (${detailOf(error)}); is this host allowed by its xend-relocation-hosts-allow?`,
      });
    }
    if (hello.type === Msg.ERROR) throw new XvmError("MIGRATE_REFUSED", { detail: `${destination} refused: ${errorText(hello.body)}` });
    const problem = helloProblem(hello);
    if (problem) throw fail(name, `${destination}: ${problem}`);

    // The config goes as xend sent it: the domain's SXP under its own name.
    const sxp = domainToSxp(domain);
    // Noted before the rename, so that a daemon killed before the driver knows the name to put
    // back (migrateOut's restore) still finds it at its next start (outgoing.ts).
    noteOutgoing(deps.runDir, { domid, name, uuid: domain.uuid, destination, paused: domain.flags.paused });
    await domains.rename(domid, `${PREFIX}${name}`.slice(0, 64));
    renamed = true;
    await faultPoint("migrate.out.before-receive", deps.runDir);
    // (progress 1): PROGRESS messages follow while the stream runs (the destination's stall check).
    channel.send(Msg.RECEIVE, ["receive", ["live", request.live ? "1" : "0"], ["paused", domain.flags.paused ? "1" : "0"], ["progress", "1"], sxp]);
    // The source's part of the set-up goes on while the destination creates the domain.
    const maxBandwidth = request.resource ? (request.resource * 1e6) / 8 : 0;
    driver.prepareMigrateOut?.(domid, { maxDowntimeMs, maxBandwidth });
    const ready = await channel.next(READY_TIMEOUT_MS, "READY from the destination").catch((error: Error) => {
      throw fail(name, `${destination}: ${error.message}`);
    });
    if (ready.type === Msg.ERROR) throw fail(name, `the destination refused the domain: ${errorText(ready.body)}`);
    if (ready.type !== Msg.READY) throw fail(name, `expected READY from ${destination}, got ${msgName(ready.type)}`);
    const streamPort = Number(field(ready.body, "port"));
    const token = field(ready.body, "token") ?? "";
    remoteDomid = Number(field(ready.body, "domid"));
    // The address this connection reached: the destination's stream endpoint listens on it too.
    const streamHost = channel.socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "") ?? field(ready.body, "host") ?? request.host;

    const abort = new AbortController();
    const stopWatching = channel.onClose((why) => abort.abort(`the destination went away: ${why.message}`));
    const messages = watchDestination(channel, (why) => abort.abort(why));
    started = true;
    readyAt = Date.now();
    try {
      stats = await driver.migrateOut(domid, { host: streamHost, port: streamPort, token, ack: field(ready.body, "ack") === "1" }, {
        live: request.live,
        maxDowntimeMs,
        maxBandwidth,
        restore: { name },
        signal: abort.signal,
        onProgress: (p) => {
          deps.records.progress(rec, p);
          onProgress?.(p);
          if (Date.now() - progressSentAt >= PROGRESS_EVERY_MS && !channel!.closed) {
            progressSentAt = Date.now();
            channel!.send(Msg.PROGRESS, ["progress", ["transferred", String(p.transferredBytes)]]);
          }
        },
      });
    } catch (error) {
      stopWatching();
      const why = abort.signal.aborted ? String(abort.signal.reason) : detailOf(error);
      throw fail(name, why.replace(/^migration of \S+ failed: /, ""));
    }
    // The destination verified everything; its DONE says the guest runs there.
    await faultPoint("migrate.out.before-done", deps.runDir);
    let done: Message;
    try {
      streamedAt = Date.now();
      done = await messages.done(DONE_TIMEOUT_MS);
    } catch (error) {
      stopWatching();
      throw fail(name, `the destination verified the memory but did not confirm the start: ${detailOf(error)}`);
    }
    stopWatching();
    if (done.type !== Msg.DONE) throw fail(name, `the destination failed to start the guest: ${errorText(done.body)}`);
    await faultPoint("migrate.out.after-done", deps.runDir);
    await driver.finishMigrateOut(domid, true);
    const started0 = Date.parse(rec.startedAt);
    stats!.phasesMs = { setup: readyAt - started0, stream: streamedAt - readyAt, confirm: Date.now() - streamedAt };
    return await handedOver(deps, { rec, domid, name, destination, remoteDomid, live: request.live, stats: stats!, channel });
  } catch (error) {
    const e = error instanceof XvmError ? error : fail(name, detailOf(error));
    if (channel && !channel.closed) channel.finish(Msg.ABORT, ["abort", ["reason", e.message]]);
    if (renamed) {
      try {
        await domains.rename(domid, name);
      } catch (x) {
        log.error(`could not give domain ${domid} its name ${name} back: ${detailOf(x)}`);
      }
    }
    // After the name: until this, the driver would restore it itself should xend die.
    if (started) {
      let outcome: void | { committed: boolean } = undefined;
      try {
        outcome = await driver.finishMigrateOut(domid, false);
      } catch (x) {
        log.error(`resuming ${name}: ${detailOf(x)}`);
      }
      if (outcome?.committed && stats) {
        // The destination's runner was handed the guest (it asked the source's runner, which
        // gave it up) but its xend never said DONE: the guest runs there, this copy must go.
        log.warn(`Domain ${name} (${domid}): ${e.message}; but the destination had already been handed the guest, so it runs there and the copy here is destroyed`);
        return await handedOver(deps, { rec, domid, name, destination, remoteDomid, live: request.live, stats, channel });
      }
    }
    log.error(`Migration of domain ${name} (${domid}) to ${destination} failed: ${e.message}; the domain ${started || renamed ? "resumes" : "stays"} here`);
    deps.records.fail(rec, e.message);
    throw e;
  } finally {
    forgetOutgoing(deps.runDir, domid);
  }
}

interface HandOver {
  rec: MigrationRecord;
  domid: number;
  name: string;
  destination: string;
  remoteDomid: number;
  live: boolean;
  stats: MigrationStats;
  channel: Channel | undefined;
}

/** The destination runs the guest: the copy here is destroyed and the migration recorded. */
async function handedOver(deps: SendDeps, h: HandOver): Promise<MigrateResult> {
  const { rec, domid, name, destination, stats } = h;
  const { domains, log } = deps;
  const endedAt = performance.timeOrigin + performance.now();
  const result: MigrationStats = { ...stats, status: "completed" };
  if (stats.stoppedAtEpochMs !== undefined) result.downtimeMs = Math.max(0, Math.round(endedAt - stats.stoppedAtEpochMs));
  result.totalTimeMs = Math.round(Date.now() - Date.parse(rec.startedAt));
  h.channel?.close();
  await domains.notifyMigrated?.(domid, "out", destination);
  try {
    await domains.destroy(domid);
  } catch (error) {
    log.error(`Domain ${name} (${domid}) runs on ${destination} now, but its copy here could not be destroyed: ${detailOf(error)}`);
  }
  deps.records.complete(rec, result);
  log.info(`Domain ${name} (${domid}) migrated to ${destination} as domain ${h.remoteDomid}: ${result.totalTimeMs} ms, downtime ${result.downtimeMs} ms, ${result.rounds} round(s), ${size(result.transferredBytes)} sent`);
  return { domain: name, domid, destination, remoteDomid: h.remoteDomid, live: h.live, stats: result };
}

/** Reads the destination's messages while the stream runs; ERROR aborts, DONE is kept. */
function watchDestination(channel: Channel, onError: (why: string) => void): { done(timeoutMs: number): Promise<Message> } {
  let last: Message | undefined;
  let wake: (() => void) | undefined;
  let ended: Error | undefined;
  void (async () => {
    for (;;) {
      let m: Message;
      try {
        m = await channel.next(2 ** 31 - 1, "message");
      } catch (error) {
        ended = error as Error;
        wake?.();
        return;
      }
      if (m.type === Msg.ERROR) onError(`the destination failed: ${errorText(m.body)}`);
      if (m.type === Msg.DONE || m.type === Msg.ERROR) {
        last = m;
        wake?.();
        return;
      }
    }
  })();
  return {
    done(timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no DONE within ${timeoutMs / 1000} s`)), timeoutMs);
        const check = () => {
          if (last) {
            clearTimeout(timer);
            resolve(last);
          } else if (ended) {
            clearTimeout(timer);
            reject(ended);
          }
        };
        wake = check;
        check();
      });
    },
  };
}
