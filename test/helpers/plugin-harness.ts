/**
 * Starts one plugin the way the daemon would, with a PluginContext built by hand: its declared
 * defaults (overridable), a logger that keeps its lines, a Paths on a temporary root, the real
 * runtime `serve`, a fresh legacyHttp registry, and the domain manager and hypervisor the test
 * gives (a hypervisor method the test did not give throws when called).
 */
import { Hono } from "hono";
import type { DomainManager } from "../../src/domain/types.ts";
import type { HypervisorDriver, PhysInfo } from "../../src/hypervisor/driver.ts";
import { Paths } from "../../src/paths.ts";
import type {
  ConfigOf, ConfigValue, LegacyHttpRegistry, Logger, PluginContext, PluginDefinition, PluginInstance, PropertyDecls, ServerHandle,
} from "../../src/plugin/contract.ts";
import { createLegacyHttpRegistry } from "../../src/plugin/legacy-http.ts";
import { serve } from "../../src/runtime/serve.ts";

export const HARNESS_PHYSINFO: PhysInfo = {
  hostname: "harness",
  release: "5.10.0-sim",
  version: "#1 SMP PREEMPT simulated",
  machine: "x86_64",
  nrCpus: 4,
  nrNodes: 1,
  coresPerSocket: 2,
  threadsPerCore: 2,
  socketsPerNode: 1,
  cpuMhz: 2400,
  totalMemoryKiB: 8 * 1024 * 1024,
  freeMemoryKiB: 6 * 1024 * 1024,
  pageSize: 4096,
  hypervisor: { name: "sim", major: 3, minor: 4, extra: ".0-sim", caps: ["xen-3.0-x86_64", "xen-3.0-x86_32p"] },
};

export interface HarnessLog extends Logger {
  readonly lines: string[];
}

function logger(lines: string[], component: string): HarnessLog {
  const at = (level: string) => (message: string) => void lines.push(`${level} (${component}) ${message}`);
  return {
    lines,
    trace: at("TRACE"),
    debug: at("DEBUG"),
    info: at("INFO"),
    warn: at("WARNING"),
    error: at("ERROR"),
    child: (c: string) => logger(lines, `${component}.${c}`),
  };
}

/** A hypervisor with only the given methods; anything else throws when called. */
export function partialHypervisor(methods: Partial<HypervisorDriver>): HypervisorDriver {
  return new Proxy(methods as HypervisorDriver, {
    get(target, prop) {
      if (prop in target) return target[prop as keyof HypervisorDriver];
      if (prop === "name") return "harness";
      if (prop === "then" || typeof prop === "symbol") return undefined;
      return () => {
        throw new Error(`hypervisor.${String(prop)} is not provided by the plugin harness`);
      };
    },
  });
}

export interface HarnessOptions<C> {
  root: string;
  domains: DomainManager;
  config?: Partial<C>;
  allConfig?: Record<string, ConfigValue>;
  hypervisor?: Partial<HypervisorDriver>;
  /** Share a registry between several plugins started in one test. */
  legacyHttp?: LegacyHttpRegistry;
}

export interface Harness<C> {
  readonly ctx: PluginContext<C>;
  readonly instance: PluginInstance | undefined;
  readonly log: HarnessLog;
  /** The last reason given to `degrade` (undefined when cleared). */
  readonly degraded: string | undefined;
  /** Servers started through ctx.serve that are still open. */
  readonly openServers: Set<ServerHandle>;
  /** Sets new values as `svcadm refresh` would (in place), then calls the plugin's refresh. */
  refresh(values: Partial<C>): Promise<void>;
  stop(): Promise<void>;
}

export async function startPlugin<P extends PropertyDecls>(
  definition: PluginDefinition<P>,
  options: HarnessOptions<ConfigOf<P>>,
): Promise<Harness<ConfigOf<P>>> {
  type C = ConfigOf<P>;
  const config: Record<string, ConfigValue> = {};
  for (const [k, decl] of Object.entries(definition.properties ?? {})) config[k] = decl.default;
  Object.assign(config, options.config);
  const allConfig = { ...options.allConfig, ...config };
  const log = logger([], definition.name);
  const openServers = new Set<ServerHandle>();
  let degraded: string | undefined;
  const ctx: PluginContext<C> = {
    name: definition.name,
    config: config as C,
    allConfig,
    log,
    paths: new Paths(options.root),
    domains: options.domains,
    hypervisor: partialHypervisor({ physInfo: async () => structuredClone(HARNESS_PHYSINFO), ...options.hypervisor }),
    routes: new Hono(),
    async serve(serveOptions, fetch) {
      const handle = await serve(serveOptions, fetch);
      openServers.add(handle);
      return {
        address: handle.address,
        async close() {
          openServers.delete(handle);
          await handle.close();
        },
      };
    },
    degrade(reason) {
      degraded = reason;
    },
    legacyHttp: options.legacyHttp ?? createLegacyHttpRegistry(),
  };
  const instance = (await definition.setup(ctx)) ?? undefined;
  return {
    ctx,
    instance,
    log,
    get degraded() {
      return degraded;
    },
    openServers,
    async refresh(values) {
      const changes = new Map<string, readonly [ConfigValue | undefined, ConfigValue | undefined]>();
      for (const [k, v] of Object.entries(values) as [string, ConfigValue][]) {
        if (config[k] !== v) changes.set(k, [config[k], v]);
        config[k] = v;
        allConfig[k] = v;
      }
      await instance?.refresh?.(changes);
    },
    async stop() {
      await instance?.stop?.();
      for (const s of [...openServers]) await s.close();
    },
  };
}
