/**
 * xend: takes the state root's daemon lock, opens its logs, loads the plugins (built-ins, then the
 * external ones of `config/plugin-path`), starts the domain manager and serves the control API,
 * until stopped. Refresh (SIGHUP, `POST /refresh`) re-reads the running snapshot and hands each
 * plugin what changed.
 *
 * Start-up order matters: the lock first (a second daemon must not touch the first one's logs),
 * then the logs (without them the daemon refuses to run blind: exit 96), then plugins, domains and
 * last the control socket, so that a daemon answering `GET /status` is a daemon fully started.
 */
import { rmSync, writeFileSync } from "node:fs";
import { setDaemonUmask } from "../runtime/umask.ts";
import type { Hono } from "hono";
import { XvmError, errorMessage } from "../errors.ts";
import { createDomainManager, type DomainManagerHandle } from "../domain/manager.ts";
import { domainRoutes } from "./domain-routes.ts";
import type { HypervisorDriver } from "../hypervisor/driver.ts";
import { withInfoCache } from "../hypervisor/info-cache.ts";
import { createDriver, unavailableDriver } from "../hypervisor/registry.ts";
import { Paths } from "../paths.ts";
import type { PluginDefinition } from "../plugin/contract.ts";
import type { ConfigValue } from "../config-value.ts";
import type { Logger } from "../logger.ts";
import type { ServerHandle } from "../server-handle.ts";
import { CORE_PROPERTIES } from "../plugin/core-properties.ts";
import { PluginHost } from "../plugin/host.ts";
import { discoverPlugins, importPlugin, pluginDirectories } from "../plugin/loader.ts";
import { resolveValues } from "../plugin/schema.ts";
import { serve } from "../runtime/serve.ts";
import { runtimeName } from "../runtime/self.ts";
import { Repository, runningConfig } from "../smf/repository.ts";
import { DOMAINS_INSTANCE, DOMAINS_SERVICE } from "../smf/model.ts";
import { VERSION } from "../version.ts";
import { BUILTIN_PLUGINS } from "./builtins.ts";
import { xendPlugin } from "./xend-plugin.ts";
import { createControlApi, type DaemonStatus, type RefreshResult } from "./control-api.ts";
import { EventBus } from "./events.ts";
import { Health } from "./health.ts";
import { renderMetrics } from "./metrics.ts";
import { LogSink, captureStdio, createLogger, type LevelName } from "./log.ts";
import { acquireDaemonLock, type DaemonLock } from "./pidfile.ts";
import type { RotationOptions } from "../runtime/rotating-file.ts";
import { watchRestarter } from "./restarter-watch.ts";
import { SERVICE_LOG_ENV, SUPERVISED_ENV } from "../smf/restarter/env.ts";

export interface DaemonOptions {
  paths?: Paths;
  /** Built-in plugins (tests pass their own list). */
  builtins?: readonly PluginDefinition[];
  /** Copy stdout/stderr into xend-debug.log (the real daemon does; in-process tests do not). */
  captureStdio?: boolean;
  /** Install SIGTERM/SIGINT/SIGHUP and uncaught-error handlers. */
  signals?: boolean;
  /** Also echo log lines on stderr (xend did when XEND_DEBUG was set). */
  echo?: boolean;
  rotation?: RotationOptions;
  /**
   * Apply on_xend_start after the start and on_xend_stop at the stop, as xend 3.4 did itself.
   * Default: when no restarter runs this daemon (no XVM_SUPERVISED), or the repository has no
   * svc:/system/xvm/domains:default; otherwise that companion service does it (docs/smf.md).
   */
  xendActions?: boolean;
}

export interface Daemon {
  readonly paths: Paths;
  readonly host: PluginHost;
  readonly app: Hono;
  readonly log: Logger;
  status(): DaemonStatus;
  refresh(): Promise<RefreshResult>;
  /** Stops everything (plugins in reverse order) and releases the root; resolves `done`. */
  stop(exitCode?: number): Promise<void>;
  /** Resolves with the exit status once the daemon has stopped. */
  readonly done: Promise<number>;
}

/** Exit status for a start-up failure: repository and log problems are configuration errors (96). */
export function startExitCode(error: unknown): number {
  if (error instanceof XvmError) return error.code.startsWith("REPO_") ? 96 : error.exitCode;
  return 1;
}

/**
 * How long a daemon that applies on_xend_stop itself waits for guests it shut down: within the
 * systemd unit's TimeoutStopSec=60 (contrib/systemd/xend.service), with room for the rest of the stop.
 */
const XEND_STOP_TIMEOUT_MS = 45_000;

export async function startDaemon(options: DaemonOptions = {}): Promise<Daemon> {
  setDaemonUmask();
  const paths = options.paths ?? new Paths();
  const repo = new Repository(paths);
  const lock = acquireDaemonLock(paths, (fn) => repo.file.withLock(fn));
  recordManager(paths);
  const sink = new LogSink(options.rotation);
  let restoreStdio: (() => void) | undefined;
  try {
    return await boot(paths, repo, lock, sink, options, (r) => (restoreStdio = r));
  } catch (error) {
    restoreStdio?.();
    sink.close();
    lock.release();
    throw error;
  }
}

/** Start-up, step by step (each step named below); the order is the one the header explains. */
async function boot(
  paths: Paths,
  repo: Repository,
  lock: DaemonLock,
  sink: LogSink,
  options: DaemonOptions,
  onCapture: (restore: () => void) => void,
): Promise<Daemon> {
  const startedAt = new Date();
  let running = runningConfig(repo.read());
  const core = coreConfig(running);
  const { logger, stdio } = openLogs(paths, sink, core, options, onCapture);
  const log = logger("xend");
  log.info(`xend ${VERSION} starting: pid ${process.pid}, root ${paths.root}, ${runtimeLabel()}`);
  const health = watchHealth(log);
  const events = new EventBus();
  let lastState = health.state;
  health.onChange((key, reason) => {
    const changed = health.state !== lastState;
    lastState = health.state;
    events.fromHealth(key, reason, health.state, health.list(), changed);
  });
  // Listings answer from the guests' recent info (src/hypervisor/info-cache.ts): every user of the
  // driver, plugins included, goes through the wrapper so that what they do forgets it.
  const driver = withInfoCache(await startHypervisor(core, paths, logger, health));

  const host = new PluginHost({ paths, logger, health });
  const metrics = async (): Promise<string> => renderMetrics({
    status: status(),
    nowMs: Date.now(),
    plugins: host.list(),
    domains: await domains.list(),
    counts: events.counts,
    subscribers: events.subscribers,
    dumpDir: typeof host.allConfig["dump-directory"] === "string" ? paths.under(host.allConfig["dump-directory"]) : undefined,
  });
  registerBuiltins(host, paths, sink, options, metrics);
  if (await loadExternalPlugins(host, repo, String(core["plugin-path"]), paths, log)) running = runningConfig(repo.read());

  // Every hook the core fires reaches the plugins first, then the event stream (and its counters).
  const fire: typeof host.fire = async (hook, ...args) => {
    await host.fire(hook, ...args);
    events.fromHook(hook, args);
  };
  const domains: DomainManagerHandle = createDomainManager({ driver, paths, log: logger("XendDomain"), fire });
  await host.start(running, { domains, hypervisor: driver });
  await attachDomains(domains, log, health);
  // Under the restarter the companion service does it — if the repository has it (an
  // administrator may have deleted it: then this daemon does it, as xend 3.4 did).
  const xendActions = options.xendActions ?? (process.env[SUPERVISED_ENV] !== "1" || !hasDomainsService(repo));
  if (xendActions) await domains.onXendStart();
  else log.info("managed domains' on_xend_start and on_xend_stop are left to svc:/system/xvm/domains:default");
  await host.fire("daemonReady");

  const status = (): DaemonStatus => ({
    pid: process.pid,
    root: paths.root,
    state: health.state,
    reasons: health.list(),
    startedAt: startedAt.toISOString(),
    version: VERSION,
    runtime: runtimeLabel(),
  });

  let refreshing: Promise<unknown> = Promise.resolve();
  const refresh = (): Promise<RefreshResult> => {
    const next = refreshing.then(() => doRefresh());
    refreshing = next.catch(() => undefined);
    return next;
  };
  const doRefresh = async (): Promise<RefreshResult> => {
    log.info("refresh: re-reading the running snapshot");
    let config: Record<string, ConfigValue>;
    try {
      config = runningConfig(repo.read());
      health.set("core:repository", undefined);
    } catch (error) {
      const reason = `refresh: cannot read the repository: ${errorMessage(error)}`;
      log.error(reason);
      health.set("core:repository", reason);
      throw error;
    }
    const changes = await host.refresh(config);
    for (const [name, [from, to]] of changes) log.info(`config/${name}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}`);
    const s = status();
    log.info(`refresh done: ${changes.size} change(s); state ${s.state}${s.reasons.length ? ` (${s.reasons.join("; ")})` : ""}`);
    return {
      state: s.state,
      reasons: s.reasons,
      changes: Object.fromEntries([...changes].map(([k, [from, to]]) => [k, { from: from ?? null, to: to ?? null }])),
    };
  };
  const app = createControlApi({
    status: async () => {
      await refreshing;
      return status();
    },
    plugins: () => host.list(),
    config: () => host.allConfig,
    refresh,
    pluginRoutes: (name) => host.routesOf(name),
    domains: domainRoutes(domains, { logFile: () => sink.mainPath ?? paths.under(String(core.logfile)) }),
    metrics,
    events,
    version: VERSION,
    log: logger("xend.api"),
  });

  let server: ServerHandle | undefined;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let stopping: Promise<void> | undefined;
  const handlers: Array<[string, (...a: unknown[]) => void]> = [];
  let unwatchRestarter: (() => void) | undefined;
  const stop = (exitCode = 0): Promise<void> =>
    (stopping ??= (async () => {
      log.info("xend stopping");
      events.publish({ type: "service", state: "stopping", reasons: [], time: new Date().toISOString() });
      try {
        await server?.close();
      } catch (error) {
        log.warn(`closing the control API: ${errorMessage(error)}`);
      }
      // Again at the stop: a companion service deleted meanwhile did not run its stop.
      if (options.xendActions ?? (xendActions || !hasDomainsService(repo))) {
        try {
          await domains.onXendStop(XEND_STOP_TIMEOUT_MS);
        } catch (error) {
          log.warn(`on_xend_stop: ${errorMessage(error)}`);
        }
      }
      await host.stop();
      for (const [what, close] of [["domain manager", () => domains.close()], ["hypervisor driver", () => driver.close()]] as const) {
        try {
          await close();
        } catch (error) {
          log.warn(`closing the ${what}: ${errorMessage(error)}`);
        }
      }
      for (const [signal, handler] of handlers) process.off(signal, handler);
      unwatchRestarter?.();
      rmSync(paths.managerFile, { force: true });
      lock.release();
      log.info(`xend stopped (exit ${exitCode})`);
      stdio?.restore();
      sink.close();
      resolveDone(exitCode);
    })());

  try {
    server = await serve({ unix: paths.controlSocket, mode: 0o600 }, app.fetch);
  } catch (error) {
    log.critical(`cannot serve the control API on ${paths.controlSocket}: ${errorMessage(error)}`);
    await stop(1);
    throw new XvmError("DAEMON_RUN_DIR", { path: paths.controlSocket, detail: errorMessage(error) });
  }

  if (options.signals) {
    const on = (signal: string, handler: (...a: unknown[]) => void) => {
      handlers.push([signal, handler]);
      process.on(signal, handler);
    };
    for (const signal of ["SIGTERM", "SIGINT"]) {
      on(signal, () => {
        log.info(`received ${signal}`);
        void stop(0);
      });
    }
    on("SIGHUP", () => {
      log.info("received SIGHUP");
      refresh().catch(() => undefined);
    });
    // A throw nobody caught (a plugin's timer, a stray promise) is logged and degrades the daemon
    // instead of ending it: guests and the other plugins are better served by a degraded xend.
    const uncaught = (kind: string) => (error: unknown) => {
      log.error(`${kind}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      health.set("core:uncaught", `${kind}: ${errorMessage(error)}`);
    };
    on("uncaughtException", uncaught("uncaught exception"));
    on("unhandledRejection", uncaught("unhandled promise rejection"));
  }

  // Started by a restarter: keep one running (src/daemon/restarter-watch.ts).
  if (process.env[SUPERVISED_ENV] === "1") unwatchRestarter = watchRestarter(paths, log);

  const s = status();
  log.info(`xend started: control API on ${paths.controlSocket}; ${host.list().filter((p) => p.state === "running").length} plugin(s) running; state ${s.state}${s.reasons.length ? ` (${s.reasons.join("; ")})` : ""}`);
  return { paths, host, app, log, status, refresh, stop, done };
}

function hasDomainsService(repo: Repository): boolean {
  try {
    return repo.read().services[DOMAINS_SERVICE]?.instances[DOMAINS_INSTANCE] !== undefined;
  } catch {
    return false;
  }
}

/** The core's own values (the `xend` plugin's properties), read before any plugin exists. */
function coreConfig(running: Readonly<Record<string, ConfigValue>>): Record<string, ConfigValue> {
  return resolveValues(CORE_PROPERTIES, running, (_, d) => d.default).values;
}

/**
 * Opens xend.log and xend-debug.log (a daemon that cannot log refuses to run: LOG_UNWRITABLE,
 * exit 96), copies stdout/stderr into the debug log when asked, and echoes on stderr when asked.
 */
function openLogs(
  paths: Paths,
  sink: LogSink,
  core: Record<string, ConfigValue>,
  options: DaemonOptions,
  onCapture: (restore: () => void) => void,
): { logger: (component: string) => ReturnType<typeof createLogger>; stdio: ReturnType<typeof captureStdio> | undefined } {
  const logfile = paths.under(String(core.logfile));
  for (const [path, open] of [
    [logfile, () => sink.openMain(logfile, core.loglevel as LevelName)],
    [paths.xendDebugLog, () => sink.openDebug(paths.xendDebugLog)],
  ] as const) {
    try {
      open();
    } catch (error) {
      throw new XvmError("LOG_UNWRITABLE", { path, detail: errorMessage(error) });
    }
  }
  sink.setLevel(core.loglevel as LevelName);
  let stdio: ReturnType<typeof captureStdio> | undefined;
  if (options.captureStdio) {
    stdio = captureStdio(() => sink.debugFile, process.env[SERVICE_LOG_ENV] || undefined);
    onCapture(stdio.restore);
  }
  if (options.echo) sink.echoTo(stdio?.rawStderr ?? ((t) => process.stderr.write(t)));
  return { logger: (component: string) => createLogger(sink, component), stdio };
}

/** The degraded reasons; a cleared one is logged with the state that follows. */
function watchHealth(log: Logger): Health {
  const health = new Health();
  health.onChange((key, reason) => {
    if (reason === undefined) log.info(`cleared: ${key}; state ${health.state}`);
  });
  return health;
}

/** The configured driver, or one that refuses everything and says why (the daemon is degraded). */
async function startHypervisor(core: Record<string, ConfigValue>, paths: Paths, logger: (component: string) => Logger, health: Health): Promise<HypervisorDriver> {
  const name = String(core.hypervisor);
  try {
    return await createDriver(name, { paths, log: logger("xend.hypervisor"), settings: core });
  } catch (error) {
    const reason = `hypervisor driver ${name}: ${errorMessage(error)}`;
    logger("xend").error(reason);
    health.set("core:hypervisor", reason);
    return unavailableDriver(name, error);
  }
}

/** The core's `xend` plugin first, then the built-ins (or a test's list), in registration order. */
function registerBuiltins(host: PluginHost, paths: Paths, sink: LogSink, options: DaemonOptions, metrics: () => Promise<string>): void {
  host.register(xendPlugin(paths, sink, metrics), "builtin");
  for (const def of options.builtins ?? BUILTIN_PLUGINS) host.register(def, "builtin");
}

/**
 * Imports the plugins of `config/plugin-path` and declares their properties in the repository.
 * Returns true when a declaration was added (the running snapshot must be read again).
 */
async function loadExternalPlugins(host: PluginHost, repo: Repository, pluginPath: string, paths: Paths, log: Logger): Promise<boolean> {
  const dirs = pluginDirectories(pluginPath, paths);
  log.debug(`plugin directories: ${dirs.join(", ") || "none"}`);
  let declared = false;
  for (const file of discoverPlugins(dirs, (m) => log.warn(m))) {
    let def: PluginDefinition;
    try {
      def = await importPlugin(file);
    } catch (error) {
      host.fail(file.name, file.path, error instanceof XvmError ? error : new XvmError("PLUGIN_LOAD_FAILED", { name: file.name, path: file.path, detail: errorMessage(error) }));
      continue;
    }
    if (host.register(def, file.path)) continue;
    log.info(`loaded plugin ${def.name}${def.version ? ` ${def.version}` : ""} from ${file.path}`);
    try {
      const added = repo.declare(def.name, def.properties ?? {});
      if (added.length) {
        declared = true;
        log.info(`plugin ${def.name}: declared ${added.map((p) => `config/${p}`).join(", ")} in the repository`);
      }
    } catch (error) {
      log.warn(`plugin ${def.name}: cannot declare its properties in the repository: ${errorMessage(error)}`);
    }
  }
  return declared;
}

/** Re-attaches to the guests that outlived the previous daemon; a failure degrades, never stops. */
async function attachDomains(domains: DomainManagerHandle, log: Logger, health: Health): Promise<void> {
  try {
    await domains.attach();
  } catch (error) {
    const reason = `domains: cannot re-attach to running guests: ${errorMessage(error)}`;
    log.error(reason);
    health.set("core:domains", reason);
  }
}

function runtimeLabel(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (runtimeName === "bun" && g.Bun) return `bun ${g.Bun.version}`;
  if (runtimeName === "deno" && g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/**
 * Records who runs this daemon (var/run/xend/xend.manager), so that svcs tells the truth when it
 * is not the restarter: `restarter` (XVM_SUPERVISED), `systemd` (a service: INVOCATION_ID is set),
 * or `none` (started by hand). Best effort: svcs falls back to `none`.
 */
export function daemonManager(env: NodeJS.ProcessEnv = process.env): "restarter" | "systemd" | "none" {
  if (env.XVM_SUPERVISED === "1") return "restarter";
  if (env.INVOCATION_ID || env.NOTIFY_SOCKET) return "systemd";
  return "none";
}

function recordManager(paths: Paths): void {
  try {
    writeFileSync(paths.managerFile, `${daemonManager()}\n`, { mode: 0o644 });
  } catch {
    // svcs then reads "none"
  }
}
