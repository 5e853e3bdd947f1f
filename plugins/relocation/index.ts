/**
 * The relocation plugin: xend's relocation server (receives migrated domains over TCP) and the
 * sending side of `xm migrate` / `op=migrate`. The protocol and the design are in
 * docs/relocation-protocol.md; the memory itself travels runner to runner (the driver's
 * prepareIncoming / migrateOut), xend only sets migrations up and decides their outcome.
 */
import { acceptPeer, definePlugin, errorMessage, escapeText, PeerAuthError, RELOCATION_AUTH_PURPOSE, relocationKey, relocationKeyFile } from "xvm/plugin";
import { properties } from "./properties.ts";
import { parsePathsAllow } from "./incoming-policy.ts";
import { Channel } from "./channel.ts";
import { legacyMigrateOp } from "./legacy.ts";
import { receiveMigration } from "./receive.ts";
import { MigrationRecords } from "./records.ts";
import { relocationRoutes } from "./routes.ts";
import { migrateDomain, type MigrateRequest } from "./send.ts";
import { RelocationListener, plainAddress } from "./server.ts";
import { takeOutgoingNotes } from "./outgoing.ts";
import { askDestination } from "./ask.ts";

export default definePlugin({
  name: "relocation",
  description: "The relocation server: receives live-migrated domains over TCP.",
  properties,
  async setup(ctx) {
    const records = new MigrationRecords();
    const deps = {
      runDir: ctx.paths.runDir,
      domains: ctx.domains, hypervisor: ctx.hypervisor, log: ctx.log, records,
      pathsAllow: () => parsePathsAllow(ctx.config["xend-relocation-paths-allow"]),
    };

    // The plugin's degraded reasons: the listener's (bind) and the key's, shown together.
    const reasons = new Map<string, string>();
    const degrade = (what: string, reason: string | undefined) => {
      if (reason === undefined) reasons.delete(what);
      else reasons.set(what, reason);
      ctx.degrade(reasons.size ? [...reasons.values()].join("; ") : undefined);
    };
    /** The key in force, read again on each use (a copied key file needs no refresh). */
    const key = () => {
      try {
        const { key: k, created } = relocationKey(ctx.config["xend-relocation-key"], ctx.paths);
        if (created) ctx.log.info(`generated the relocation key ${k.path} (fingerprint ${k.fingerprint}); hosts that migrate to or from this one need the same key: see 'xm relocation-key'`);
        degrade("key", undefined);
        return k;
      } catch (error) {
        degrade("key", `relocation key: ${errorMessage(error)}; no migration can come in or go out`);
        throw error;
      }
    };
    const checkKey = () => {
      try {
        const k = key();
        ctx.log.info(`relocation key ${k.path}, fingerprint ${k.fingerprint}`);
      } catch (error) {
        ctx.log.error(`relocation key: ${errorMessage(error)}; no migration can come in or go out until it is fixed (svcadm refresh xend)`);
      }
    };

    const migrate = (request: MigrateRequest, onProgress?: Parameters<typeof migrateDomain>[2]) =>
      migrateDomain({
        ...deps,
        key: () => key().secret,
        config: () => ({ port: ctx.config["xend-relocation-port"], maxDowntimeMs: ctx.config["xend-relocation-max-downtime"] }),
      }, request, onProgress);

    const listener: RelocationListener = new RelocationListener(ctx.log, (reason) => degrade("listener", reason), (socket, peer) => {
      void (async () => {
        // Authenticate before anything the peer sent is read: the socket is still paused.
        try {
          await acceptPeer(socket, key().secret, { purpose: RELOCATION_AUTH_PURPOSE });
        } catch (error) {
          socket.destroy();
          listener.settle(socket);
          const why = error instanceof PeerAuthError
            ? error.reason === "bad-key" ? "it does not hold this host's relocation key" : `authentication failed: ${error.message}`
            : `no usable relocation key here (${errorMessage(error)})`;
          listener.rejected.note(peer.address, peer.name, why);
          return;
        }
        listener.settle(socket);
        const channel = new Channel(socket);
        socket.resume();
        await receiveMigration(deps, channel, peer, plainAddress(socket.localAddress)).catch((error) => {
          ctx.log.error(`relocation connection from ${peer.address} (${escapeText(peer.name)}): ${escapeText(errorMessage(error))}`);
          channel.close();
        });
      })();
    });
    checkKey();
    const listen = () => listener.apply({
      enabled: ctx.config["xend-relocation-server"],
      address: ctx.config["xend-relocation-address"],
      port: ctx.config["xend-relocation-port"],
      hostsAllow: ctx.config["xend-relocation-hosts-allow"],
    });
    await listen();

    relocationRoutes(ctx.routes, { ...deps, migrate, listener: () => listener.status() });
    const unregisterLegacy = ctx.legacyHttp?.registerDomainOp("migrate", legacyMigrateOp((r) => migrate(r)));

    /**
     * Migrations going out when an earlier daemon was killed: a guest still called
     * `migrating-<name>` gets its name back (outgoing.ts). The guest itself runs on: the driver
     * resumed it once it lost its xend, or it never stopped (killed before the stream began) —
     * unless the daemon died after the guest was sent (qemu): then the destination is asked (ask.ts).
     */
    const restoreNames = async () => {
      for (const note of takeOutgoingNotes(ctx.paths.runDir)) {
        const d = (await ctx.domains.list()).find((x) => x.domid === note.domid && x.uuid === note.uuid);
        if (!d || d.name === note.name || !d.name.startsWith("migrating-")) continue;
        // Stopped for the switch-over and never resumed: its xend went away after the guest had
        // been sent, so the destination may run it now. If it says it does, this copy is stale
        // and goes; otherwise which copy lives is the administrator's call (resuming this one
        // blindly could run the guest twice, or bring back one that ran and stopped there).
        const stopped = d.flags.paused && !note.paused;
        let there: string | undefined;
        if (stopped && note.destination) {
          try {
            there = await askDestination(note.destination, key().secret, note.uuid);
          } catch (error) {
            ctx.log.warn(`Domain ${note.name} (${note.domid}): cannot ask the destination about it: ${escapeText(errorMessage(error))}`);
          }
        }
        try {
          if (there === "running" || there === "paused") {
            await ctx.domains.destroy(note.domid);
            ctx.log.info(`Domain ${note.name} (${note.domid}) runs on ${escapeText(note.destination!)} (${there} there): its migration completed after the xend that ran it went away; the stopped copy here is destroyed`);
            continue;
          }
          await ctx.domains.rename(note.domid, note.name);
          ctx.log.info(`Domain ${note.name} (${note.domid}): name given back (its migration ended with the xend that ran it)`);
          if (stopped) {
            const where = note.destination ? ` on ${escapeText(note.destination)}` : " on the destination";
            const said = there ? ` (the destination says: ${there})` : "";
            ctx.log.warn(`Domain ${note.name} (${note.domid}) stays paused: its migration ended with the xend that ran it after the guest was sent${said}; if it runs${where}, destroy this copy, else 'xm unpause ${note.name}'`);
          }
        } catch (error) {
          ctx.log.error(`Domain ${escapeText(d.name)} (${note.domid}): could not give it back its name ${escapeText(note.name)}: ${errorMessage(error)}`);
        }
      }
    };

    return {
      hooks: { daemonReady: restoreNames },
      async refresh(changes) {
        if (changes.has("xend-relocation-key")) ctx.log.info(`relocation key file: ${relocationKeyFile(ctx.config["xend-relocation-key"], ctx.paths)}`);
        checkKey();
        if (changes.has("xend-relocation-max-downtime")) {
          ctx.log.info(`live migration downtime target: ${ctx.config["xend-relocation-max-downtime"]} ms (from the next migration on)`);
        }
        // Only new connections see a new hosts-allow; migrations in progress keep their sockets.
        await listen();
      },
      async stop() {
        unregisterLegacy?.();
        await listener.stop();
      },
    };
  },
});
