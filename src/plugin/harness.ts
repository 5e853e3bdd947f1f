/**
 * The plugin test harness, exported by `xvm/plugin` for plugin authors and used by the built-ins'
 * own unit tests: it runs one plugin (after any others it needs) through the real plugin host, so
 * declarations, `validate`, fallback, degraded reasons, refresh and hooks behave as in the daemon.
 *
 *   const h = await startPluginHarness(myPlugin, { root, config: { "my-port": 9000 } });
 *   await h.refresh({ "my-port": 70000 });        // as svccfg setprop + svcadm refresh
 *   expect(h.reasons).toEqual(["config/my-port: Expected at most 65535; keeping 9000"]);
 *   await h.fire("domainCreated", domain);
 *   await h.stop();
 */
import type { Hono } from "hono";
import type { DomainManager } from "../domain/types.ts";
import type { HypervisorDriver, PhysInfo } from "../hypervisor/driver.ts";
import { Paths } from "../paths.ts";
import type { ConfigValue, Hooks, Logger, PluginDefinition, PluginInstance, PropertyDecls, ServeOptions, ServerHandle } from "./contract.ts";
import { PluginHost, type HealthSink } from "./host.ts";

/** What the harness's hypervisor answers for physInfo unless the test gives its own. */
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

export interface PluginHarnessOptions {
  /** The state root the plugin's `ctx.paths` is under (a temporary directory of the test's). */
  root: string;
  /** Running values of the repository (`svccfg setprop` + refresh); the rest are the defaults. */
  config?: Record<string, ConfigValue>;
  /** The domain manager; members not given throw when called (`list` answers no domains). */
  domains?: Partial<DomainManager>;
  /** The hypervisor; members not given throw when called (`physInfo` answers HARNESS_PHYSINFO). */
  hypervisor?: Partial<HypervisorDriver>;
  /** Plugins registered before the one under test (their hooks run first, as in the daemon). */
  before?: readonly PluginDefinition[];
  /** How `ctx.serve` serves (the real one by default). */
  serve?: (options: ServeOptions, fetch: (request: Request) => Response | Promise<Response>) => Promise<ServerHandle>;
}

export interface PluginHarness {
  /** Every value in force (all plugins'), as `GET /config` shows it. */
  readonly config: Readonly<Record<string, ConfigValue>>;
  /** Log lines, `LEVEL (component) message`. */
  readonly lines: string[];
  /** The degraded reasons, as `svcs -x` lists them (empty when online). */
  readonly reasons: string[];
  /** What the plugin's setup returned (undefined when setup failed). */
  readonly instance: PluginInstance | undefined;
  /** The plugin's sub-app (`/plugins/<name>/…` on the control API): `routes.request(path)`. */
  readonly routes: Hono;
  /** The running values so far; `refresh` changes them. */
  readonly running: Record<string, ConfigValue>;
  /** Sets running values (when given) and refreshes, as `svcadm refresh`; returns what took effect. */
  refresh(values?: Record<string, ConfigValue>): Promise<Map<string, [ConfigValue | undefined, ConfigValue | undefined]>>;
  /** Fires a hook on every plugin, as the domain manager does (a refusing hook's throw comes through). */
  fire<K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): Promise<void>;
  /** Stops every plugin (reverse order), closing the servers they left open. */
  stop(): Promise<void>;
}

/** A stand-in whose members not given throw when called, naming the member. */
export function partialStandIn<T extends object>(what: string, given: Partial<T>, name?: string): T {
  return new Proxy(given as T, {
    get(target, prop) {
      if (prop in target) return target[prop as keyof T];
      if (prop === "name" && name !== undefined) return name;
      if (prop === "then" || typeof prop === "symbol") return undefined;
      return () => {
        throw new Error(`${what}.${String(prop)} is not provided by the plugin harness`);
      };
    },
  });
}

/** A logger writing `LEVEL (component) message` lines into `lines`. */
export function lineLogger(lines: string[]): (component: string) => Logger {
  const make = (component: string): Logger => {
    const at = (level: string) => (message: string) => void lines.push(`${level} (${component}) ${message}`);
    return { trace: at("TRACE"), debug: at("DEBUG"), info: at("INFO"), warn: at("WARNING"), error: at("ERROR"), child: (c) => make(`${component}.${c}`) };
  };
  return make;
}

export async function startPluginHarness<P extends PropertyDecls>(
  definition: PluginDefinition<P>,
  options: PluginHarnessOptions,
): Promise<PluginHarness> {
  const lines: string[] = [];
  const reasons = new Map<string, string>();
  const health: HealthSink = {
    set(key, reason) {
      if (reason === undefined) reasons.delete(key);
      else reasons.set(key, reason);
    },
  };
  const host = new PluginHost({
    paths: new Paths(options.root),
    logger: lineLogger(lines),
    health,
    ...(options.serve ? { serve: options.serve } : {}),
  });
  for (const def of options.before ?? []) host.register(def, "builtin");
  const problem = host.register(definition, "builtin");
  if (problem) throw problem;
  const running: Record<string, ConfigValue> = { ...options.config };
  const domains = partialStandIn<DomainManager>("domains", { list: async () => [], setHostResources: () => undefined, ...options.domains });
  const hypervisor = partialStandIn<HypervisorDriver>(
    "hypervisor",
    { physInfo: async () => structuredClone(HARNESS_PHYSINFO), ...options.hypervisor },
    "harness",
  );
  await host.start(running, { domains, hypervisor });
  return {
    config: host.allConfig,
    lines,
    get reasons() {
      return [...reasons.values()];
    },
    get instance() {
      return host.instanceOf(definition.name);
    },
    routes: host.routesOf(definition.name)!.routes,
    running,
    async refresh(values) {
      Object.assign(running, values);
      return host.refresh(running);
    },
    fire: (hook, ...args) => host.fire(hook, ...args),
    stop: () => host.stop(),
  };
}
