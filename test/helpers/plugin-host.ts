/**
 * A plugin host for unit tests: log lines captured as `LEVEL (component) message`, the degraded
 * reasons kept in a real Health, and stand-ins for the domain manager and the driver.
 */
import { Health } from "../../src/daemon/health.ts";
import type { DomainManager } from "../../src/domain/types.ts";
import type { HypervisorDriver } from "../../src/hypervisor/driver.ts";
import { Paths } from "../../src/paths.ts";
import type { Logger } from "../../src/plugin/contract.ts";
import { PluginHost, type PluginHostOptions } from "../../src/plugin/host.ts";

export interface TestHost {
  host: PluginHost;
  health: Health;
  lines: string[];
  services: { domains: DomainManager; hypervisor: HypervisorDriver };
}

export function captureLogger(lines: string[]): (component: string) => Logger {
  const make = (component: string): Logger => ({
    trace: (m) => lines.push(`TRACE (${component}) ${m}`),
    debug: (m) => lines.push(`DEBUG (${component}) ${m}`),
    info: (m) => lines.push(`INFO (${component}) ${m}`),
    warn: (m) => lines.push(`WARNING (${component}) ${m}`),
    error: (m) => lines.push(`ERROR (${component}) ${m}`),
    child: (sub) => make(`${component}.${sub}`),
  });
  return make;
}

export function testHost(options: Partial<PluginHostOptions> = {}): TestHost {
  const lines: string[] = [];
  const health = new Health();
  const host = new PluginHost({
    paths: new Paths("/nonexistent-xvm-root"),
    logger: captureLogger(lines),
    health,
    ...options,
  });
  const services = {
    domains: { list: async () => [] } as unknown as DomainManager,
    hypervisor: { name: "fake" } as unknown as HypervisorDriver,
  };
  return { host, health, lines, services };
}
