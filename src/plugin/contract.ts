/**
 * The plugin contract. Built-in plugins (plugins/<name>/index.ts) and third-party plugins use
 * exactly this: `definePlugin` and the {@link PluginContext} handed to `setup`. External plugins
 * import it as `xvm/plugin` (src/plugin/public.ts); docs/plugins.md is the guide.
 *
 * Lifecycle (src/plugin/host.ts): plugins are set up in registration order (built-ins first, then
 * external plugins in directory order), told what changed on each refresh, and stopped in reverse
 * order. A plugin that throws is reported under its own name and path; the daemon goes on and
 * reports itself degraded.
 */
import type { Hono } from "hono";
import type { DomainCreateRequest, DomainManager, DomainSummary } from "../domain/types.ts";
import type { HypervisorDriver } from "../hypervisor/driver.ts";
import type { Paths } from "../paths.ts";
import type { Sxp } from "../formats/sxp.ts";
import type { ConfigValue } from "../config-value.ts";
import type { Logger } from "../logger.ts";
import type { ServeOptions, ServerHandle } from "../server-handle.ts";

import type { Hooks } from "../domain/hooks.ts";
import type { PluginCommand } from "./command-contract.ts";

export type * from "./command-contract.ts";

export type { ConfigValue, Hooks, Logger, ServeOptions, ServerHandle };

/** The SMF property types a plugin may declare (xend read boolean, integer and astring only). */
export type PropertyType = "boolean" | "integer" | "count" | "astring";

export type ValueOf<T extends PropertyType> = T extends "boolean" ? boolean : T extends "astring" ? string : number;

/**
 * A declared property. For the union (`PropertyDecl` without a type argument) this is one member
 * per type, so `check` is typed by the declaration's `type` (`check: (v) => v.length …` on an astring).
 */
export type PropertyDecl<T extends PropertyType = PropertyType> = T extends PropertyType ? PropertyDeclOf<T> : never;

export interface PropertyDeclOf<T extends PropertyType> {
  type: T;
  default: ValueOf<T>;
  /** One line; shown by `svccfg describe` and in `svccfg export`. */
  description: string;
  /** Inclusive bounds for integer/count. */
  min?: number;
  max?: number;
  /** For astring: the allowed values, or a check returning an error message. */
  values?: readonly string[];
  check?: (value: ValueOf<T>) => string | undefined;
  /**
   * Checks a value against the host (a link exists, the CPUs are there, a file can be written),
   * after the checks above, at start and on every refresh, also when the value did not change
   * (the host may have). Returns the problem, or undefined. The host acts on a problem the same way
   * for every plugin: at start the default stands in, on a refresh the value in force is kept; the
   * plugin never sees the refused value, and the daemon is degraded with
   * `config/<name>: <problem>; using <default> instead` (or `; keeping <value>`) until a refresh
   * brings a good value. A validate that throws counts as a problem.
   */
  validate?: (value: ValueOf<T>, ctx: ValidationContext) => string | undefined | Promise<string | undefined>;
  /** How a value reads in those messages (`'eth0'`, `196 MiB`); JSON by default. */
  show?: (value: ValueOf<T>) => string;
}

/** What a property's `validate` may consult. */
export interface ValidationContext {
  /** The plugin validating. */
  readonly name: string;
  readonly paths: Paths;
  readonly log: Logger;
  /** Every value in force (all plugins'); during a refresh, the previous ones. */
  readonly allConfig: Readonly<Record<string, ConfigValue>>;
  /** The values this start or refresh proposes for the plugin's own properties (declaration-checked). */
  readonly proposed: Readonly<Record<string, ConfigValue>>;
}

export type PropertyDecls = Record<string, PropertyDecl>;


/** The typed view of a plugin's own properties. */
export type ConfigOf<P extends PropertyDecls> = { readonly [K in keyof P]: ValueOf<P[K]["type"]> };



/** What changed on a refresh: property name -> [old, new]. */
export type ConfigChanges = ReadonlyMap<string, readonly [ConfigValue | undefined, ConfigValue | undefined]>;

/** What `setup` returns (all optional). */
export interface PluginInstance {
  /**
   * Called on every refresh (`svcadm refresh`, SIGHUP, `POST /refresh`), after `ctx.config` holds
   * the new values, with the changes to this plugin's own properties — possibly none: a refresh is
   * also the administrator asking to re-check. Throwing refuses the new values: the host puts the
   * previous ones back in `ctx.config`, logs the error under the plugin's name and marks the daemon
   * degraded until a later refresh succeeds. A value that fails the declaration (type, bounds,
   * values, check) never reaches the plugin: the previous one stays and the daemon is degraded.
   */
  refresh?(changes: ConfigChanges): void | Promise<void>;
  /**
   * Called on daemon shutdown, in reverse registration order (10 s at most). Servers opened with
   * `ctx.serve` and still open afterwards are closed by the host.
   */
  stop?(): void | Promise<void>;
  hooks?: Partial<Hooks>;
}


export interface PluginContext<C> {
  readonly name: string;
  /** This plugin's properties from the running snapshot; updated in place before `refresh` runs. */
  readonly config: C;
  /** Every config property (all plugins'), read-only. */
  readonly allConfig: Readonly<Record<string, ConfigValue>>;
  readonly log: Logger;
  readonly paths: Paths;
  readonly domains: DomainManager;
  readonly hypervisor: HypervisorDriver;
  /** Sub-app mounted on the control API under `/plugins/<name>/`. */
  readonly routes: Hono;
  /** Serve a fetch handler (a Hono app's `fetch`) on a Unix socket or TCP, on any runtime. */
  serve(options: ServeOptions, fetch: (request: Request) => Response | Promise<Response>): Promise<ServerHandle>;
  /**
   * Mark the daemon degraded with a reason (shown by `svcs -x`), or clear it with `undefined`.
   * Each plugin has its own reason: clearing one plugin's leaves the others', and the daemon is
   * degraded while any plugin has one. A plugin that refuses a refreshed value (and keeps its
   * previous one in force) says so here.
   */
  degrade(reason: string | undefined): void;
  /**
   * The legacy xend HTTP interface's extension point (served by the unix-server plugin): register
   * `op=<name>` handlers for `/xend/domain/<dom>`. One registry per daemon, shared by every plugin;
   * build it with `createLegacyHttpRegistry()` (src/plugin/legacy-http.ts). Optional so that
   * contexts built before it existed still type-check.
   */
  readonly legacyHttp?: LegacyHttpRegistry;
}

/**
 * An operation on one domain of the legacy xend HTTP interface (`POST /xend/domain/<dom>` with
 * `op=<name>`), contributed by a plugin: enable-dump adds `dump`, relocation adds `migrate`.
 * Names the unix-server plugin implements itself (pause, destroy, …) cannot be replaced.
 */
export interface LegacyDomainOp {
  /** Parameters that must be present (xend's FormFn): a missing one answers `Missing parameter: X`. */
  readonly params?: readonly string[];
  /** Parameters read when present. Any other parameter is ignored, as xend ignored it. */
  readonly optional?: readonly string[];
  /** Answer `202 Accepted` with `Location: …/<dom>/..` (xend's acceptCommand) instead of `200 OK`. */
  readonly accepted?: boolean;
  /** Also allowed as `GET /xend/domain/<dom>?op=<name>` (xend allowed it for vcpuinfo only). */
  readonly get?: boolean;
  /**
   * Carries the op out. `args` holds each of `params` and `optional` that was sent, once: identical
   * duplicates are merged and differing ones already refused (`Too many values for X`). The result is written as the SXP
   * body; `undefined` gives an empty body. A throw answers 500 `(xend.err '<message>')`, or 404 for
   * an XvmError DOMAIN_NOT_FOUND.
   */
  run(domain: DomainSummary, args: Readonly<Record<string, string>>): Sxp | undefined | Promise<Sxp | undefined>;
}

export interface LegacyHttpRegistry {
  /** Adds `op` (`[a-z][a-z0-9_]*`); returns a function that removes it. Throws if `op` is taken. */
  registerDomainOp(op: string, handler: LegacyDomainOp): () => void;
  /** The handler registered for `op`, if any (looked up at request time, so order does not matter). */
  domainOp(op: string): LegacyDomainOp | undefined;
}

export interface PluginDefinition<P extends PropertyDecls = PropertyDecls> {
  name: string;
  version?: string;
  description?: string;
  properties?: P;
  /** CLI commands the plugin adds (`xm <name>`); see src/plugin/command-contract.ts. */
  commands?: readonly PluginCommand[];
  setup(ctx: PluginContext<ConfigOf<P>>): PluginInstance | void | Promise<PluginInstance | void>;
}

/** Typed identity: gives `setup` a context whose `config` matches the declared properties. */
export function definePlugin<const P extends PropertyDecls>(definition: PluginDefinition<P>): PluginDefinition<P> {
  return definition;
}

/**
 * Typed identity for a plugin's property declarations kept in their own module (`properties.ts`):
 * svcs and svccfg read the declarations of the built-ins without loading the plugins' code.
 */
export function defineProperties<const P extends PropertyDecls>(properties: P): P {
  return properties;
}

/**
 * A plugin's declarations with host-side behaviour added (`validate`, `show`): properties.ts stays
 * declarations only (svcs and svccfg read it), the plugin's index.ts adds what needs its code.
 */
export function withValidation<const P extends PropertyDecls>(
  properties: P,
  extra: { [K in keyof P]?: Pick<PropertyDeclOf<P[K]["type"]>, "validate" | "show"> },
): P {
  const out: Record<string, PropertyDecl> = { ...properties };
  for (const [name, more] of Object.entries(extra)) out[name] = { ...properties[name]!, ...(more as object) } as PropertyDecl;
  return out as P;
}

export function isPluginDefinition(value: unknown): value is PluginDefinition {
  return typeof value === "object" && value !== null &&
    typeof (value as PluginDefinition).name === "string" &&
    typeof (value as PluginDefinition).setup === "function";
}
