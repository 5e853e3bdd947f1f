/**
 * Migration commands of a runner (see ../migration/ and docs/relocation-protocol.md). The stream
 * runs here, next to guest memory; the driver only starts it, relays its progress and decides the
 * outcome. A migration is tied to the driver connection that started it: should that connection go
 * away (xend killed), the runner does what keeps the guest safe on its own — a source resumes its
 * guest under its old name, a destination that has not been told to start its guest destroys it.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { XvmError, errorMessage } from "../../../errors.ts";
import type { MigrationProgress, MigrationStats } from "../../driver.ts";
import { PAGE_SIZE } from "../memory.ts";
import { IncomingStream } from "../migration/receiver.ts";
import { OutgoingStream, POLICY_DEFAULTS, type SendResult } from "../migration/sender.ts";
import { TOKEN_BYTES } from "../migration/wire.ts";
import { RUNNER_TEST_FAULT } from "../protocol.ts";
import { arg, type RunnerCommand, type RunnerHost } from "../runner-command.ts";
import { commands as core } from "./core.ts";

interface Outgoing {
  stream: OutgoingStream;
  /** "failed": the stream failed and the guest runs here again; xend has yet to call migrateOutFinish. */
  state: "sending" | "sent" | "failed" | "committed";
  /** Stops watching the driver connection. */
  unwatch?: () => void;
  result?: SendResult;
  restore?: { name: string; meta?: Record<string, unknown> };
}

interface Incoming {
  stream: IncomingStream;
  /** "committing": waiting for the source runner's answer to COMMIT (IncomingStream.settle). */
  state: "receiving" | "verified" | "committing";
  commit?: (start: boolean) => void;
  cancel?: (error: Error) => void;
  /** xend went away while committing: the source runner's answer alone decides. */
  orphaned?: boolean;
  /** Settles once the commit exchange ended (true: the guest is this host's now). */
  settled?: Promise<boolean>;
}

/** One guest per runner: its migration, if any. */
const migrations = new WeakMap<RunnerHost, { out?: Outgoing; in?: Incoming }>();

function slot(host: RunnerHost): { out?: Outgoing; in?: Incoming } {
  let s = migrations.get(host);
  if (!s) migrations.set(host, (s = {}));
  return s;
}

function busy(host: RunnerHost): void {
  const s = slot(host);
  // A failed migration whose finish never came (xend restarted meanwhile) is over.
  if (s.out?.state === "failed") {
    s.out.unwatch?.();
    s.out = undefined;
  }
  if (s.out || s.in) {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: host.spec.name, state: s.out ? "migrating out" : "migrating in", action: "start another migration" });
  }
}

/** Ends this runner and its guest as `xm destroy` would (the runner's own SIGTERM path). */
function selfDestroy(host: RunnerHost, why: string): void {
  host.log(`migration: ${why}; destroying this guest`);
  process.kill(process.pid, "SIGTERM");
}

/** Puts a source guest back as it was before an outgoing migration that will not complete. */
function resume(host: RunnerHost, out: Outgoing, why: string): void {
  // Tell the destination first: a COMMIT it sends from now on is refused, its copy is dropped.
  out.stream.release(true);
  const r = out.result;
  const guest = host.guest;
  if (r && guest.life === "running") {
    if (r.pausedByUs && guest.isPaused) guest.unpause();
    if (guest.throttle !== r.throttleBefore) guest.setThrottle(r.throttleBefore);
  }
  host.log(`migration: the guest resumes here (${why})`);
}

function restoreIdentity(host: RunnerHost, out: Outgoing): void {
  if (!out.restore) return;
  host.spec.name = out.restore.name;
  if (out.restore.meta) host.spec.meta = out.restore.meta;
  host.saveSpec();
  host.log(`migration: name ${out.restore.name} restored`);
}

function optionalInt(args: Record<string, unknown>, name: string, cmd: string, fallback: number): number {
  return args[name] === undefined ? fallback : arg.int(args, name, cmd);
}

export const commands: Record<string, RunnerCommand> = {
  /**
   * Replaces core's `unpause` (this table is merged after core's in index.ts): a guest stopped
   * for its switch-over, or one still receiving its memory, must not run — its state would then
   * differ from what the other side holds — so unpausing it is refused until the migration ends.
   */
  unpause(ctx) {
    const s = slot(ctx.host);
    const out = s.out;
    // A guest created for an incoming migration runs only once the source gave it up (spec.incoming
    // is cleared then): a half-received copy, whatever happened to its xend, never runs.
    if (ctx.host.spec.incoming === true && !s.in) {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: ctx.host.spec.name, state: "a half-received migration", action: "unpause" });
    }
    if (s.in || (out && out.state !== "failed" && (out.state !== "sending" || out.stream.stopped))) {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: ctx.host.spec.name, state: s.in ? "receiving a migration" : "stopped for its migration", action: "unpause" });
    }
    return core.unpause!(ctx);
  },

  /** Source side: streams the guest to a prepared destination; resolves once it verified all. */
  async migrateOut({ host, guest, args, connection, progress }) {
    busy(host);
    if (guest.life !== "running") throw new XvmError("DOMAIN_BAD_STATE", { dom: host.spec.name, state: guest.life, action: "migrate" });
    const restore = args.restore === undefined ? undefined : arg.object(args, "restore", "migrateOut");
    const stream = new OutgoingStream(
      guest,
      {
        host: arg.string(args, "host", "migrateOut"),
        port: arg.int(args, "port", "migrateOut"),
        token: arg.string(args, "token", "migrateOut"),
        live: arg.bool(args, "live", "migrateOut"),
        maxDowntimeMs: arg.int(args, "maxDowntimeMs", "migrateOut"),
        maxIterations: optionalInt(args, "maxIterations", "migrateOut", POLICY_DEFAULTS.maxIterations),
        maxFactor: optionalInt(args, "maxFactor", "migrateOut", POLICY_DEFAULTS.maxFactor),
        autoConverge: arg.bool(args, "autoConverge", "migrateOut", true),
        maxBandwidth: optionalInt(args, "maxBandwidth", "migrateOut", 0),
        fault: takeTestFault(host),
      },
      (p: MigrationProgress) => progress({ migration: p }),
      (line) => host.log(line),
    );
    const out: Outgoing = { stream, state: "sending" };
    if (restore) {
      out.restore = { name: arg.string(restore, "name", "migrateOut") };
      if (restore.meta !== undefined) out.restore.meta = arg.object(restore, "meta", "migrateOut");
    }
    slot(host).out = out;
    // Until xend ends the migration (migrateOutFinish), losing it means acting alone: the name
    // comes back at once (a new xend may attach any moment), then the guest resumes here.
    const orphaned = () => {
      if (slot(host).out !== out) return;
      if (out.state === "committed") return selfDestroy(host, "xend went away after the destination took the guest over");
      slot(host).out = undefined;
      restoreIdentity(host, out);
      if (out.state === "sending") stream.abort(new Error("xend went away during the migration"));
      else if (out.state === "sent") resume(host, out, "xend went away before the migration was confirmed");
    };
    connection.socket.once("close", orphaned);
    out.unwatch = () => connection.socket.off("close", orphaned);
    host.log(`migration: sending to ${String(args.host)}:${String(args.port)} (${args.live ? "live" : "not live"})`);
    try {
      out.result = await stream.run();
    } catch (error) {
      // The guest runs here again (run() resumed it); the name waits for xend, or for orphaned().
      if (slot(host).out === out) out.state = "failed";
      host.log(`migration: failed: ${errorMessage(error)}`);
      throw new XvmError("MIGRATE_FAILED", { dom: host.spec.name, detail: errorMessage(error) });
    }
    out.state = "sent";
    // The destination's COMMIT: granted only while nothing resumed the guest here. From then on
    // this copy never runs again (xend destroys it, or this runner does should xend go away).
    stream.settleWith(() => {
      if (slot(host).out !== out || out.state !== "sent") return false;
      out.state = "committed";
      host.log("migration: the destination took the guest over; this copy is given up");
      return true;
    });
    const s: MigrationStats = out.result.stats;
    host.log(`migration: sent ${s.normalPages} pages (${s.zeroPages} zero) in ${s.rounds} round(s); the destination verified them`);
    return { result: s };
  },

  /**
   * Source side, after migrateOut: `committed` (destroy follows) or over here (resume if it was
   * sent). The answer is the outcome in force, `{committed}`: once the destination's runner was
   * granted its COMMIT, the guest is the destination's even if xend asks to resume it here (its
   * DONE was lost with the destination's xend), and xend must destroy this copy instead.
   */
  migrateOutFinish({ host, args }) {
    const out = slot(host).out;
    if (!out || (out.state !== "sent" && out.state !== "failed" && out.state !== "committed")) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: "migrateOutFinish: no outgoing migration to finish" });
    }
    if (out.state === "committed") return { result: { committed: true } };
    if (arg.bool(args, "committed", "migrateOutFinish")) {
      if (out.state !== "sent") throw new XvmError("XVM_BAD_REQUEST", { detail: "migrateOutFinish: a failed migration cannot be committed" });
      out.state = "committed";
      out.stream.release(false);
      return { result: { committed: true } };
    }
    slot(host).out = undefined;
    out.unwatch?.();
    if (out.state === "sent") resume(host, out, "the destination did not take the guest over");
    return { result: { committed: false } };
  },

  /** Source side: stops a migration in flight (its migrateOut rejects; the guest resumes). */
  migrateOutCancel({ host, args }) {
    const out = slot(host).out;
    if (out?.state === "sending") out.stream.abort(new Error(typeof args.reason === "string" ? args.reason : "cancelled"));
  },

  /**
   * Destination side: listens for the source, reports `{listening}` then `{verified}` as progress,
   * and completes once migrateInCommit started (or kept paused) the guest.
   */
  async migrateIn({ host, guest, args, connection, progress }) {
    busy(host);
    if (!guest.isPaused || guest.life !== "running") {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: host.spec.name, state: guest.isPaused ? guest.life : "running", action: "receive a migration" });
    }
    const token = randomBytes(TOKEN_BYTES);
    const stream = new IncomingStream(guest, {
      bindAddress: arg.string(args, "bind", "migrateIn"),
      allowFrom: typeof args.allowFrom === "string" ? args.allowFrom : undefined,
      token,
      timeoutMs: optionalInt(args, "timeoutMs", "migrateIn", 30_000),
    }, (line) => host.log(line));
    const incoming: Incoming = { stream, state: "receiving" };
    slot(host).in = incoming;
    const committed = new Promise<boolean>((resolve, reject) => {
      incoming.commit = resolve;
      incoming.cancel = reject;
    });
    connection.socket.once("close", () => {
      if (slot(host).in !== incoming) return;
      // Asked the source for the guest already: its answer decides (see migrateInCommit).
      if (incoming.state === "committing") incoming.orphaned = true;
      else selfDestroy(host, "xend went away before it started the migrated guest");
    });
    try {
      const at = await stream.listen();
      host.log(`migration: waiting for the source on ${at.host}:${at.port}`);
      progress({ listening: { host: at.host, port: at.port, token: token.toString("hex") } });
      const stats = await stream.done;
      incoming.state = "verified";
      progress({ verified: stats });
      const start = await committed;
      slot(host).in = undefined;
      if (start && guest.isPaused) guest.unpause();
      host.log(`migration: the guest ${start ? "runs" : "stays paused"} here`);
      return { result: stats };
    } catch (error) {
      if (slot(host).in === incoming) slot(host).in = undefined;
      host.log(`migration: receive failed: ${errorMessage(error)}`);
      throw new XvmError("MIGRATE_FAILED", { dom: host.spec.name, detail: errorMessage(error) });
    }
  },

  /**
   * Destination side, after `verified`: asks the source runner to give the guest up. Only if it
   * does is the guest this host's: `incoming` leaves spec.json (a new xend re-attaches it from
   * then on, and it may run) and it starts, or stays paused (`start: false`). If the source
   * resumed the guest meanwhile, the call fails and the copy here is dropped.
   */
  async migrateInCommit({ host, args }) {
    const incoming = slot(host).in;
    if (!incoming || incoming.state !== "verified") throw new XvmError("XVM_BAD_REQUEST", { detail: "migrateInCommit: no verified incoming migration" });
    const start = arg.bool(args, "start", "migrateInCommit");
    incoming.state = "committing";
    let done!: (kept: boolean) => void;
    incoming.settled = new Promise<boolean>((resolve) => (done = resolve));
    const outcome = await incoming.stream.settle();
    if (!outcome.committed) {
      const error = new Error(`the source did not give the guest up: ${outcome.why}`);
      if (slot(host).in === incoming) slot(host).in = undefined;
      incoming.cancel?.(error);
      done(false);
      if (incoming.orphaned) selfDestroy(host, error.message);
      throw new XvmError("MIGRATE_FAILED", { dom: host.spec.name, detail: error.message });
    }
    delete host.spec.incoming;
    host.saveSpec();
    incoming.commit!(start);
    done(true);
  },

  /**
   * Asked by a driver that finds this guest still marked incoming after an xend restart (the
   * xend that received it is gone): a copy not yet given up by the source is destroyed; one whose
   * commit exchange is under way waits for its outcome. `{kept}` says which.
   */
  async migrateInOrphaned({ host }) {
    const incoming = slot(host).in;
    if (incoming?.state === "committing" && incoming.settled) {
      incoming.orphaned = true;
      if (await incoming.settled) return { result: { kept: true } };
      return { result: { kept: false } };
    }
    if (host.spec.incoming !== true) return { result: { kept: true } };
    selfDestroy(host, "it was still receiving a migration when its xend went away");
    return { result: { kept: false } };
  },

  migrateInAbort({ host, args }) {
    const incoming = slot(host).in;
    if (!incoming) return;
    slot(host).in = undefined;
    const error = new Error(typeof args.reason === "string" ? args.reason : "aborted by xend");
    incoming.stream.abort(error);
    incoming.cancel?.(error);
  },

  /** SHA-256 of the memory the guest can use (below its balloon target), vCPUs parked. */
  memoryDigest({ guest }) {
    return {
      result: guest.withVcpusStopped(() => {
        const pages = Math.min(guest.mem.nrPages, Math.ceil(guest.targetKiB / 4));
        const bytes = guest.mem.bytes;
        const all = createHash("sha256");
        const rest = createHash("sha256");
        all.update(bytes.subarray(0, PAGE_SIZE));
        for (let at = PAGE_SIZE; at < pages * PAGE_SIZE; at += 16 * 2 ** 20) {
          const part = bytes.subarray(at, Math.min(pages * PAGE_SIZE, at + 16 * 2 ** 20));
          all.update(part);
          rest.update(part);
        }
        return { pages, sha256: all.digest("hex"), sha256Rest: rest.digest("hex") };
      }),
    };
  },
};

/**
 * The fault a test armed for this guest's next outgoing stream (../protocol.ts RUNNER_TEST_FAULT):
 * read once, then removed; nothing unless the runner was started with XVM_TEST_FAULTS=1.
 */
function takeTestFault(host: RunnerHost): string | undefined {
  if (process.env.XVM_TEST_FAULTS !== "1") return undefined;
  const path = join(host.dir, RUNNER_TEST_FAULT);
  let text: string;
  try {
    text = readFileSync(path, "utf8").slice(0, 64).trim();
  } catch {
    return undefined;
  }
  rmSync(path, { force: true });
  return text || undefined;
}
