/**
 * The unix-server plugin (the legacy xend HTTP interface) started alone on a fresh temporary root,
 * over a domain-manager double holding the domains the legacy tests speak about: web1 running,
 * db1 paused, spare managed and inactive.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import plugin from "../../plugins/unix-server/index.ts";
import { DomainManagerDouble } from "./domain-double.ts";
import { startPlugin, type Harness } from "./plugin-harness.ts";

export type LegacyConfig = Parameters<typeof plugin.setup>[0]["config"];

export interface LegacyServer {
  root: string;
  domains: DomainManagerDouble;
  h: Harness<LegacyConfig>;
  /** The legacy socket, var/lib/xend/xend-socket under the root. */
  sock: string;
}

export async function startLegacyServer(prefix: string): Promise<LegacyServer> {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const domains = new DomainManagerDouble();
  domains.add({ name: "web1", memory: 512, maxmem: 1024, vcpus: 2, maxvcpus: 4, uuid: "11111111-2222-4333-8444-555555555555" });
  domains.add({ name: "db1", memory: 1024, paused: true });
  domains.add({ name: "spare", memory: 256, active: false, managed: true });
  const h = await startPlugin(plugin, { root, domains });
  return { root, domains, h, sock: h.ctx.paths.under("/var/lib/xend/xend-socket") };
}

/** Stops the plugin and removes its root. */
export async function stopLegacyServer(s: LegacyServer | undefined): Promise<void> {
  if (!s) return;
  try {
    await s.h.stop();
  } finally {
    rmSync(s.root, { recursive: true, force: true });
  }
}
