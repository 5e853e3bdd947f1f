/**
 * The relocation plugin: xend's relocation server (receives migrated domains over TCP) and the
 * sending side of `xm migrate` / `op=migrate`. The protocol and the design are in
 * docs/relocation-protocol.md; the memory itself travels runner to runner (the driver's
 * prepareIncoming / migrateOut), xend only sets migrations up and decides their outcome.
 */
import { definePlugin } from "xvm/plugin";
import { properties } from "./properties.ts";
import { Channel } from "./channel.ts";
import { legacyMigrateOp } from "./legacy.ts";
import { receiveMigration } from "./receive.ts";
import { MigrationRecords } from "./records.ts";
import { relocationRoutes } from "./routes.ts";
import { migrateDomain, type MigrateRequest } from "./send.ts";
import { RelocationListener, plainAddress } from "./server.ts";

export default definePlugin({
  name: "relocation",
  description: "The relocation server: receives live-migrated domains over TCP.",
  properties,
  async setup(ctx) {
    const records = new MigrationRecords();
    const deps = { domains: ctx.domains, hypervisor: ctx.hypervisor, log: ctx.log, records };
    const migrate = (request: MigrateRequest, onProgress?: Parameters<typeof migrateDomain>[2]) =>
      migrateDomain({
        ...deps,
        config: () => ({ port: ctx.config["xend-relocation-port"], maxDowntimeMs: ctx.config["xend-relocation-max-downtime"] }),
      }, request, onProgress);

    const listener = new RelocationListener(ctx.log, (reason) => ctx.degrade(reason), (socket, peer) => {
      socket.resume();
      const channel = new Channel(socket);
      void receiveMigration(deps, channel, peer, plainAddress(socket.localAddress)).catch((error) => {
        ctx.log.error(`relocation connection from ${peer.address}: ${(error as Error).message}`);
        channel.close();
      });
    });
    const listen = () => listener.apply({
      enabled: ctx.config["xend-relocation-server"],
      address: ctx.config["xend-relocation-address"],
      port: ctx.config["xend-relocation-port"],
      hostsAllow: ctx.config["xend-relocation-hosts-allow"],
    });
    await listen();

    relocationRoutes(ctx.routes, { ...deps, migrate, faultsAllowed: process.env.XVM_TEST_FAULTS === "1", listener: () => listener.status() });
    const unregisterLegacy = ctx.legacyHttp?.registerDomainOp("migrate", legacyMigrateOp((r) => migrate(r)));

    return {
      async refresh(changes) {
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
