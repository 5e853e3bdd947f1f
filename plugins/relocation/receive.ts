/**
 * The destination side of a migration, for one accepted (and allowed) relocation connection:
 *
 *   source                               destination (here)
 *   HELLO (version)            ->
 *                              <-        HELLO (version)
 *   RECEIVE (live, paused, domain SXP) ->
 *                                        create the domain, paused; prepare the incoming stream
 *                              <-        READY (domid, host, port, token)
 *   … memory and vCPU state flow runner to runner, verified there …
 *                                        start the guest (unless it came paused)
 *                              <-        DONE (domid, name)
 *
 * Anything going wrong after the domain was created (the source aborts or vanishes, the stream
 * fails its checks, a timeout) destroys the half-received domain and answers ERROR if the source
 * still listens: nothing of it is left here.
 */
import { hostname } from "node:os";
import { checkDomainConfig, configFromSxp, escapeText, faultPoint, sxp, VERSION, XvmError, type DomainConfig, type DomainManager, type HypervisorDriver, type IncomingMigration, type Logger, type MigrationStats, type SxpNode } from "xvm/plugin";
import { detailOf } from "./channel.ts";
import { Channel, MAGIC, Msg, PROTOCOL_VERSION, errorText, field, msgName, type Message } from "./channel.ts";
import type { MigrationRecords } from "./records.ts";
import type { Peer } from "./server.ts";
import { MAX_DEVICES, admitIncoming, countDevices } from "./incoming-policy.ts";

const { name: sxpName } = sxp;

export interface ReceiveDeps {
  /** var/run/xend (test fault points). */
  runDir: string;
  domains: DomainManager;
  hypervisor: HypervisorDriver;
  log: Logger;
  records: MigrationRecords;
  /** `config/xend-relocation-paths-allow`, parsed. */
  pathsAllow(): string[];
}

const HANDSHAKE_TIMEOUT_MS = 30_000;
/**
 * The source has this long to connect to the stream endpoint, and the stream may stall this long
 * (XVM_RELOCATION_STREAM_TIMEOUT_MS overrides it for tests).
 */
const STREAM_TIMEOUT_MS = Number(process.env.XVM_RELOCATION_STREAM_TIMEOUT_MS) > 0 ? Number(process.env.XVM_RELOCATION_STREAM_TIMEOUT_MS) : 30_000;

export function helloSxp(): SxpNode {
  return [MAGIC, ["version", String(PROTOCOL_VERSION)], ["host", hostname()], ["software", `xvm ${VERSION}`]];
}

/** Checks a peer's HELLO; returns an error message for a bad one. */
export function helloProblem(m: Message): string | undefined {
  if (m.type !== Msg.HELLO || sxpName(m.body) !== MAGIC) return `expected a relocation HELLO, got ${msgName(m.type)}`;
  const version = Number(field(m.body, "version"));
  if (version !== PROTOCOL_VERSION) return `relocation protocol version ${field(m.body, "version") ?? "?"} is not supported (this xend speaks ${PROTOCOL_VERSION})`;
  return undefined;
}

function errSxp(type: string, message: string): SxpNode {
  return ["err", ["type", type], ["value", message]];
}

export async function receiveMigration(deps: ReceiveDeps, channel: Channel, peer: Peer, localAddress: string): Promise<void> {
  const { log } = deps;
  // The peer's name is its own reverse DNS: escaped once, here.
  const from = `${peer.address} (${escapeText(peer.name, 128)})`;
  let hello: Message;
  try {
    hello = await channel.next(HANDSHAKE_TIMEOUT_MS, "relocation HELLO");
  } catch (error) {
    log.debug(`relocation connection from ${from} ended before its HELLO: ${escapeText(detailOf(error))}`);
    channel.close();
    return;
  }
  const problem = helloProblem(hello);
  if (problem) {
    log.warn(`relocation connection from ${from}: ${escapeText(problem)}`);
    channel.finish(Msg.ERROR, errSxp("version", problem));
    return;
  }
  channel.send(Msg.HELLO, helloSxp());
  let request: Message;
  try {
    request = await channel.next(HANDSHAKE_TIMEOUT_MS, "migration request");
  } catch (error) {
    log.debug(`relocation connection from ${from} ended after the handshake: ${escapeText(detailOf(error))}`);
    channel.close();
    return;
  }
  if (request.type === Msg.QUERY) {
    await answerQuery(deps, channel, request);
    return;
  }
  if (request.type !== Msg.RECEIVE) {
    channel.finish(Msg.ERROR, errSxp("protocol", `expected RECEIVE, got ${msgName(request.type)}`));
    return;
  }
  const live = field(request.body, "live") === "1";
  const keepPaused = field(request.body, "paused") === "1";
  const domainNode = Array.isArray(request.body) ? request.body.find((x) => Array.isArray(x) && x[0] === "domain") : undefined;
  // Everything the peer sent is checked before any of it is logged; what is logged is escaped.
  let config: DomainConfig;
  try {
    if (!domainNode) throw new XvmError("DOMAIN_CONFIG", { detail: "the request carries no (domain …) config" });
    const devices = countDevices(domainNode);
    if (devices > MAX_DEVICES) throw new XvmError("MIGRATE_REFUSED", { detail: `the domain has ${devices} devices; at most ${MAX_DEVICES} may come in` });
    const parsed = configFromSxp(domainNode);
    // The checks of `xm create` (memory, vCPUs, name, MACs, disks' form, actions…).
    const problems = checkDomainConfig(parsed);
    if (problems.length > 0) throw new XvmError("DOMAIN_CONFIG", { detail: problems.map((p) => `${p.field} ${p.message}`).join("; ") });
    const admitted = admitIncoming(parsed, deps.pathsAllow());
    config = admitted.config;
    // A migration never replaces nor edits a domain it did not create: running, managed or kept.
    const here = (await deps.domains.list()).find((d) => d.name === config.name || (config.uuid !== undefined && d.uuid === config.uuid.toLowerCase()));
    if (here) {
      const what = here.domid === null ? "an inactive managed domain" : here.domid === 0 ? "the control domain" : here.flags.crashed || here.flags.shutdown ? "a domain kept after it stopped" : here.name.startsWith("migrating-") ? "the domain being migrated away (a domain cannot migrate to the host it runs on)" : "a running domain";
      const same = here.name === config.name ? `name ${config.name}` : `uuid ${here.uuid}`;
      throw new XvmError("MIGRATE_REFUSED", { detail: `the ${same} belongs to ${what} here ('${here.name}'); a migration never replaces a domain` });
    }
    if (admitted.dropped.length) log.warn(`domain ${config.name} from ${from}: dropped what only an administrator of this host may set: ${escapeText(admitted.dropped.join(", "))}`);
  } catch (error) {
    const why = detailOf(error);
    channel.finish(Msg.ERROR, errSxp(error instanceof XvmError ? error.code : "XendError", `Restore failed: ${why}`));
    log.error(`Restore failed (migration from ${from}): ${escapeText(why)}`);
    return;
  }
  const rec = deps.records.start({ direction: "in", domain: config.name, domid: null, peer: from, live });
  log.info(`Receiving domain ${config.name} from ${from}${live ? " (live)" : ""}`);
  const driver = deps.hypervisor;
  let domid: number | undefined;
  let incoming: IncomingMigration | undefined;
  let aborted: Error | undefined;
  /** The source gave the guest up: from then on it is this host's, whatever fails after. */
  let committed = false;
  let verifiedStats: MigrationStats | undefined;
  const stopWatching = channel.onClose((why) => {
    aborted ??= new Error(`the source went away: ${why.message}`);
    void incoming?.abort(aborted.message);
  });
  try {
    if (!driver.prepareIncoming) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `receiving a migration on the ${driver.name} hypervisor` });
    await faultPoint("migrate.in.before-create", deps.runDir);
    const summary = await deps.domains.create(config, { paused: true, incoming: true });
    domid = summary.domid!;
    rec.domid = domid;
    await faultPoint("migrate.in.after-create", deps.runDir);
    incoming = await driver.prepareIncoming(domid, {
      bindAddress: localAddress, allowFrom: peer.address, timeoutMs: STREAM_TIMEOUT_MS, sourceReportsProgress: field(request.body, "progress") === "1",
    });
    if (aborted) throw aborted;
    const e = incoming.endpoint;
    channel.send(Msg.READY, ["ready", ["domid", String(domid)], ["host", e.host], ["port", String(e.port)], ["token", e.token], ...(e.ack ? [["ack", "1"]] : [])]);
    const progressTo = incoming;
    void watchSource(channel, (bytes) => progressTo.sourceProgress?.(bytes), (why) => {
      aborted ??= why;
      void incoming?.abort(why.message);
    });
    const stats: MigrationStats = await incoming.verified;
    verifiedStats = stats;
    if (aborted) throw aborted;
    if (channel.closed) throw new Error("the source went away before the guest was started here");
    await faultPoint("migrate.in.before-commit", deps.runDir);
    // The runners settle the hand-over between themselves: this fails if the source resumed it.
    await incoming.commit(!keepPaused);
    committed = true;
    stopWatching();
    await faultPoint("migrate.in.after-commit", deps.runDir);
    // DONE first: the source's downtime runs until it hears it; the hooks are told after.
    channel.finish(Msg.DONE, ["done", ["domid", String(domid)], ["name", config.name]]);
    await deps.domains.notifyMigrated?.(domid, "in", peer.address);
    await faultPoint("migrate.in.after-done", deps.runDir);
    deps.records.complete(rec, stats);
    log.info(`Domain ${config.name} (${domid}) received from ${from}: ${stats.normalPages} pages and ${stats.zeroPages} zero pages in ${stats.rounds} round(s), memory verified; ${keepPaused ? "kept paused" : "running"}`);
  } catch (error) {
    stopWatching();
    if (committed && domid !== undefined) {
      log.error(`Domain ${config.name} (${domid}) received from ${from} and running here, but: ${escapeText(detailOf(error))}`);
      channel.close();
      deps.records.complete(rec, verifiedStats!);
      return;
    }
    const message = detailOf(aborted ?? error);
    log.error(`Restore failed: domain ${config.name} from ${from}: ${escapeText(message)}`);
    if (incoming) await incoming.abort(message);
    if (domid !== undefined) {
      try {
        await deps.domains.destroy(domid);
        log.info(`destroyed the half-received domain ${config.name} (${domid})`);
      } catch (e) {
        log.error(`could not destroy the half-received domain ${config.name} (${domid}): ${detailOf(e)}`);
      }
    }
    channel.finish(Msg.ERROR, errSxp(error instanceof XvmError ? error.code : "XendError", `Restore failed: ${message}`));
    deps.records.fail(rec, message);
  }
}

/** Reads what the source says while the stream runs: ABORT or ERROR end the migration. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * QUERY from a source whose xend went away after it sent a guest (ask.ts): whether this host runs a
 * domain with that uuid — `arriving` while it is still a half-received migration (it will be dropped:
 * its source is gone), `none` without one.
 */
async function answerQuery(deps: ReceiveDeps, channel: Channel, request: Message): Promise<void> {
  const uuid = (field(request.body, "uuid") ?? "").toLowerCase();
  if (!UUID.test(uuid)) {
    channel.finish(Msg.ERROR, errSxp("protocol", "QUERY needs a (uuid …)"));
    return;
  }
  const d = (await deps.domains.list()).find((x) => x.uuid === uuid && x.domid !== null);
  const arriving = d !== undefined && deps.records.list().some((r) => r.direction === "in" && r.domid === d.domid && (r.status === "setup" || r.status === "active"));
  const state = !d ? "none" : arriving ? "arriving" : d.flags.paused ? "paused" : "running";
  channel.finish(Msg.STATUS, ["status", ["uuid", uuid], ["state", state]]);
}

async function watchSource(channel: Channel, onProgress: (transferredBytes: number) => void, onAbort: (why: Error) => void): Promise<void> {
  for (;;) {
    let m: Message;
    try {
      m = await channel.next(2 ** 31 - 1, "message");
    } catch {
      return; // closing is handled by onClose
    }
    if (m.type === Msg.PROGRESS) {
      const bytes = Number(field(m.body, "transferred"));
      if (Number.isSafeInteger(bytes) && bytes >= 0) onProgress(bytes);
      continue;
    }
    if (m.type === Msg.ABORT) return onAbort(new Error(`the source aborted: ${field(m.body, "reason") ?? "no reason given"}`));
    if (m.type === Msg.ERROR) return onAbort(new Error(`the source failed: ${errorText(m.body)}`));
  }
}
