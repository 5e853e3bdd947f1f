/**
 * The plugin host: registers plugins (checking their declarations and who owns which property),
 * sets them up in registration order, hands each its changed properties on refresh, dispatches
 * hooks, and stops them in reverse order. A plugin that fails is recorded with its name, source
 * and error, and the daemon is marked degraded through {@link HealthSink}; the others go on.
 */
import { Hono } from "hono";
import { TrieRouter } from "hono/router/trie-router";
import { errorResponse, notFoundResponse } from "../runtime/http-errors.ts";
import { XvmError, errorMessage } from "../errors.ts";
import type { HypervisorDriver } from "../hypervisor/driver.ts";
import type { DomainManager } from "../domain/types.ts";
import type { Paths } from "../paths.ts";
import { serve as defaultServe, type FetchHandler } from "../runtime/serve.ts";
import { VERSION } from "../version.ts";
import type {
  ConfigChanges, ConfigValue, Hooks, LegacyHttpRegistry, Logger, PluginContext, PluginDefinition, PluginInstance, PropertyDecl, PropertyDecls,
  ServeOptions, ServerHandle, ValidationContext,
} from "./contract.ts";
import { createLegacyHttpRegistry } from "./legacy-http.ts";
import { declaredName } from "./loader.ts";
import { checkDefinition, resolveValues } from "./schema.ts";

export type PluginState = "running" | "failed" | "stopped";

/** What GET /plugins shows for each plugin. */
export interface PluginStatus {
  name: string;
  version: string;
  /** "builtin", or the file the plugin was loaded from. */
  source: string;
  state: PluginState;
  error?: string;
  properties: string[];
}

export interface HealthSink {
  set(key: string, reason: string | undefined): void;
}

export interface PluginServices {
  domains: DomainManager;
  hypervisor: HypervisorDriver;
}

export interface PluginHostOptions {
  paths: Paths;
  /** A logger whose lines show `(component)`. */
  logger: (component: string) => Logger;
  health: HealthSink;
  serve?: (options: ServeOptions, fetch: FetchHandler) => Promise<ServerHandle>;
  /** A setup slower than this is logged as a warning. */
  slowSetupMs?: number;
  /** A stop() slower than this is abandoned (logged) so shutdown completes. */
  stopTimeoutMs?: number;
}

interface PluginRecord {
  definition: PluginDefinition | undefined;
  name: string;
  version: string;
  source: string;
  state: PluginState;
  error?: string;
  /** Set when setup failed (retried on refresh); load-time failures are final. */
  setupFailed: boolean;
  properties: PropertyDecls;
  config: Record<string, ConfigValue>;
  instance?: PluginInstance;
  routes: Hono;
  servers: Set<ServerHandle>;
  log: Logger;
}

export class PluginHost {
  private readonly records: PluginRecord[] = [];
  /** property -> owning plugin (the core's `xend` plugin included). */
  private readonly owners = new Map<string, string>();
  /** Every effective config value, updated in place on refresh (plugins see it as allConfig). */
  readonly allConfig: Record<string, ConfigValue> = {};
  private services: PluginServices | undefined;
  /** One per daemon, shared by every plugin's context. */
  readonly legacyHttp: LegacyHttpRegistry = createLegacyHttpRegistry();
  private readonly log: Logger;

  constructor(private readonly options: PluginHostOptions) {
    this.log = options.logger("xend.plugins");
  }

  /**
   * Adds a plugin after checking its definition, its name and its properties. On a problem the
   * plugin is listed as failed, the daemon is degraded, and the error is returned.
   */
  register(definition: unknown, source = "builtin"): XvmError | undefined {
    const name = declaredName(definition) ?? "?";
    const problem = checkDefinition(definition);
    if (problem) return this.fail(name, source, new XvmError("PLUGIN_INVALID", { name, path: source, detail: problem }));
    const def = definition as PluginDefinition;
    const same = this.records.find((r) => r.name === def.name && r.definition);
    if (same) return this.fail(def.name, source, new XvmError("PLUGIN_NAME_CONFLICT", { name: def.name, path: source, other: same.source }));
    const properties = def.properties ?? {};
    for (const property of Object.keys(properties)) {
      const owner = this.owners.get(property);
      if (owner) return this.fail(def.name, source, new XvmError("PLUGIN_PROPERTY_CONFLICT", { name: def.name, path: source, property, owner }));
    }
    for (const property of Object.keys(properties)) this.owners.set(property, def.name);
    this.records.push({
      definition: def,
      name: def.name,
      version: def.version ?? (source === "builtin" ? VERSION : ""),
      source,
      state: "stopped",
      setupFailed: false,
      properties,
      config: {},
      routes: pluginRoutes(def.name, this.options.logger(def.name)),
      servers: new Set(),
      log: this.options.logger(def.name),
    });
    return undefined;
  }

  /** Records a plugin that could not even be loaded (import failed, invalid export). */
  fail(name: string, source: string, error: XvmError): XvmError {
    this.records.push({
      definition: undefined, name, version: "", source, state: "failed", error: error.message, setupFailed: false,
      properties: {}, config: {}, routes: new Hono(), servers: new Set(), log: this.options.logger(name),
    });
    this.log.error(error.message);
    this.options.health.set(`load:${name}:${source}`, error.message);
    return error;
  }

  /** Sets every registered plugin up, in registration order. */
  async start(running: Readonly<Record<string, ConfigValue>>, services: PluginServices): Promise<void> {
    this.services = services;
    for (const rec of this.records) {
      if (!rec.definition) continue;
      const values = await this.resolve(rec, running, "start");
      Object.assign(rec.config, values);
      Object.assign(this.allConfig, values);
      await this.setup(rec);
    }
  }

  /**
   * Applies a new running config: every running plugin's refresh gets the changes to its own
   * properties (possibly none: a refresh is also the administrator asking to re-check). A refresh
   * that throws puts that plugin's previous values back. Plugins whose setup failed are set up
   * again, so fixing a value and refreshing brings them back without a restart.
   * Returns every change that took effect.
   */
  async refresh(running: Readonly<Record<string, ConfigValue>>): Promise<Map<string, [ConfigValue | undefined, ConfigValue | undefined]>> {
    const applied = new Map<string, [ConfigValue | undefined, ConfigValue | undefined]>();
    for (const rec of this.records) {
      if (!rec.definition) continue;
      const before = { ...rec.config };
      const values = await this.resolve(rec, running, "refresh");
      const changes = new Map<string, readonly [ConfigValue | undefined, ConfigValue | undefined]>();
      for (const [k, value] of Object.entries(values)) if (before[k] !== value) changes.set(k, [before[k], value]);
      Object.assign(rec.config, values);
      Object.assign(this.allConfig, values);
      if (rec.setupFailed) {
        this.log.info(`retrying setup of plugin ${rec.name}`);
        await this.setup(rec);
        if (rec.state === "running") for (const [k, c] of changes) applied.set(k, [c[0], c[1]]);
        continue;
      }
      if (rec.state !== "running") continue;
      try {
        await rec.instance?.refresh?.(changes as ConfigChanges);
        this.options.health.set(`refresh:${rec.name}`, undefined);
        if (rec.error?.includes("failed in refresh")) delete rec.error;
        for (const [k, c] of changes) applied.set(k, [c[0], c[1]]);
      } catch (error) {
        Object.assign(rec.config, before);
        Object.assign(this.allConfig, before);
        const e = new XvmError("PLUGIN_REFRESH_FAILED", { name: rec.name, path: rec.source, detail: errorMessage(error) }, { cause: error });
        rec.error = e.message;
        rec.log.error(`${e.message}${stackOf(error)}`);
        this.options.health.set(`refresh:${rec.name}`, e.message);
      }
    }
    return applied;
  }

  /** Stops running plugins in reverse registration order; never throws. */
  async stop(): Promise<void> {
    for (const rec of [...this.records].reverse()) {
      if (rec.state !== "running") continue;
      const t0 = Date.now();
      try {
        const stop = rec.instance?.stop;
        if (stop) await withTimeout(Promise.resolve().then(() => stop.call(rec.instance)), this.options.stopTimeoutMs ?? 10_000, `stop() of plugin ${rec.name}`);
        rec.log.debug(`plugin ${rec.name} stopped in ${Date.now() - t0} ms`);
      } catch (error) {
        rec.error = `plugin ${rec.name} (${rec.source}) failed in stop: ${errorMessage(error)}`;
        rec.log.error(`${rec.error}${stackOf(error)}`);
      }
      await this.closeServers(rec);
      rec.state = "stopped";
    }
  }

  /**
   * Fires a hook on every running plugin that has it, in registration order, awaiting each. A hook
   * that throws is logged under the plugin's name and marks the daemon degraded until that hook
   * succeeds again; a throw in a `domainPre*` hook is a refusal: it reaches the caller (the domain
   * manager, which then changes nothing) and the later plugins' hooks do not run.
   */
  fire = async <K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): Promise<void> => {
    for (const rec of this.records) {
      if (rec.state !== "running") continue;
      const fn = rec.instance?.hooks?.[hook] as ((...a: Parameters<Hooks[K]>) => void | Promise<void>) | undefined;
      if (!fn) continue;
      const key = `hook:${rec.name}:${hook}`;
      try {
        await fn.apply(rec.instance?.hooks, args);
        this.options.health.set(key, undefined);
      } catch (error) {
        if (REFUSING_HOOKS.has(hook)) {
          rec.log.info(`plugin ${rec.name}: ${hook}: refused: ${errorMessage(error)}`);
          throw error;
        }
        const e = new XvmError("PLUGIN_HOOK_FAILED", { name: rec.name, path: rec.source, hook, detail: errorMessage(error) });
        rec.log.error(`${e.message}${stackOf(error)}`);
        this.options.health.set(key, e.message);
      }
    }
  };

  list(): PluginStatus[] {
    return this.records.map((r) => ({
      name: r.name,
      version: r.version,
      source: r.source,
      state: r.state,
      ...(r.error !== undefined ? { error: r.error } : {}),
      properties: Object.keys(r.properties),
    }));
  }

  /** What a plugin's setup returned (tests and the plugin harness drive hooks and refresh through the host). */
  instanceOf(name: string): PluginInstance | undefined {
    return this.records.find((r) => r.name === name && r.definition)?.instance;
  }

  /** The sub-app of a running plugin (for the control API's `/plugins/<name>/`). */
  routesOf(name: string): { routes: Hono; state: PluginState; error?: string } | undefined {
    const rec = this.records.find((r) => r.name === name && r.definition);
    return rec && { routes: rec.routes, state: rec.state, ...(rec.error !== undefined ? { error: rec.error } : {}) };
  }

  /**
   * The values a start or refresh gives `rec`'s properties, checked once here for every plugin:
   * the declaration (type, bounds, values, check), then the property's own `validate` against the
   * host. A refused or missing value falls back (the default at start, the value in force on a
   * refresh); each refusal is logged and degrades the daemon under `config:<name>` until a start
   * or refresh finds the property good again.
   */
  private async resolve(rec: PluginRecord, running: Readonly<Record<string, ConfigValue>>, phase: "start" | "refresh"): Promise<Record<string, ConfigValue>> {
    const inForce = rec.config;
    const fallback = (name: string, decl: PropertyDecl): ConfigValue => (phase === "start" ? decl.default : inForce[name]!);
    const { values, problems } = resolveValues(rec.properties, running, fallback);
    const ctx: ValidationContext = { name: rec.name, paths: this.options.paths, log: rec.log, allConfig: this.allConfig, proposed: { ...values } };
    for (const [name, decl] of Object.entries(rec.properties)) {
      if (problems.has(name) || !decl.validate) continue;
      let problem: string | undefined;
      try {
        problem = await (decl.validate as (value: ConfigValue, c: ValidationContext) => string | undefined | Promise<string | undefined>)(values[name]!, ctx);
      } catch (error) {
        problem = `cannot check the value: ${errorMessage(error)}`;
      }
      if (problem) {
        problems.set(name, problem);
        values[name] = fallback(name, decl);
      }
    }
    for (const [name, decl] of Object.entries(rec.properties)) {
      const problem = problems.get(name);
      if (problem) {
        const show = (decl.show as ((value: ConfigValue) => string) | undefined) ?? ((value: ConfigValue) => JSON.stringify(value));
        const tail = phase === "start" ? `using ${show(values[name]!)} instead` : `keeping ${show(values[name]!)}`;
        const message = `${new XvmError("CONFIG_INVALID", { property: name, detail: problem }).message}; ${tail}`;
        this.log.error(message);
        this.options.health.set(`config:${name}`, message);
      } else {
        this.options.health.set(`config:${name}`, undefined);
      }
    }
    return values;
  }

  private async setup(rec: PluginRecord): Promise<void> {
    const def = rec.definition!;
    const t0 = Date.now();
    try {
      const instance = await def.setup(this.context(rec) as PluginContext<never>);
      rec.instance = instance ?? {};
      rec.state = "running";
      rec.setupFailed = false;
      delete rec.error;
      this.options.health.set(`setup:${rec.name}`, undefined);
      const ms = Date.now() - t0;
      if (ms > (this.options.slowSetupMs ?? 5000)) rec.log.warn(`plugin ${rec.name}: setup took ${ms} ms`);
      rec.log.debug(`plugin ${rec.name} started (${rec.source}) in ${ms} ms`);
    } catch (error) {
      const e = new XvmError("PLUGIN_SETUP_FAILED", { name: rec.name, path: rec.source, detail: errorMessage(error) }, { cause: error });
      rec.state = "failed";
      rec.setupFailed = true;
      rec.error = e.message;
      rec.log.error(`${e.message}${stackOf(error)}`);
      this.options.health.set(`setup:${rec.name}`, e.message);
      await this.closeServers(rec);
    }
  }

  private context(rec: PluginRecord): PluginContext<Record<string, ConfigValue>> {
    const host = this;
    const serve = this.options.serve ?? defaultServe;
    return {
      name: rec.name,
      config: rec.config,
      allConfig: this.allConfig,
      log: rec.log,
      paths: this.options.paths,
      get domains() {
        return host.services!.domains;
      },
      get hypervisor() {
        return host.services!.hypervisor;
      },
      routes: rec.routes,
      legacyHttp: this.legacyHttp,
      async serve(options, fetch) {
        const handle = await serve(options, fetch);
        let closed: Promise<void> | undefined;
        const tracked: ServerHandle = {
          address: handle.address,
          close() {
            rec.servers.delete(tracked);
            return (closed ??= handle.close());
          },
        };
        rec.servers.add(tracked);
        return tracked;
      },
      degrade(reason) {
        host.options.health.set(`plugin:${rec.name}`, reason === undefined ? undefined : `plugin ${rec.name}: ${reason}`);
      },
    };
  }

  /** Servers a plugin opened through ctx.serve and did not close: closed for it (sockets removed). */
  private async closeServers(rec: PluginRecord): Promise<void> {
    for (const server of [...rec.servers]) {
      try {
        await server.close();
        rec.log.debug(`plugin ${rec.name}: closed ${server.address} left open by the plugin`);
      } catch (error) {
        rec.log.warn(`plugin ${rec.name}: cannot close ${server.address}: ${errorMessage(error)}`);
      }
    }
    rec.servers.clear();
  }
}

/**
 * A plugin's sub-app. The trie router accepts routes added at any time (the default router
 * refuses new routes after the first request); `strict: false` serves `/plugins/x` and `/plugins/x/`.
 */
function pluginRoutes(name: string, log: Logger): Hono {
  const routes = new Hono({ router: new TrieRouter(), strict: false }).basePath(`/plugins/${name}`);
  routes.onError((error) => errorResponse(error, log));
  routes.notFound((c) => notFoundResponse(c.req.method, c.req.path));
  return routes;
}

/** Hooks whose throw refuses the operation instead of being a plugin fault. */
const REFUSING_HOOKS: ReadonlySet<keyof Hooks> = new Set<keyof Hooks>(["domainPreCreate", "domainPreMemoryChange"]);

function stackOf(error: unknown): string {
  return error instanceof Error && error.stack ? `\n${error.stack}` : "";
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
