/**
 * The core is a plugin too (as yarn berry's `@@core`): the built-in `xend` plugin declares the
 * daemon's own properties (src/plugin/core-properties.ts: logfile, loglevel, plugin-path,
 * hypervisor) and applies them on refresh, through the same host as every other plugin: the same
 * checks, fallback, `svcs -x` reasons and ownership of names. It is registered before the other
 * plugins, so its changes apply (and are logged) first. At start the daemon reads these values
 * itself, before any plugin exists: it needs them to open its logs, pick the hypervisor driver
 * and find the external plugins.
 */
import { errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";
import { definePlugin, withValidation, type PluginDefinition } from "../plugin/contract.ts";
import { CORE_OWNER, CORE_PROPERTIES, parseMetricsAddress } from "../plugin/core-properties.ts";
import type { ServerHandle } from "../plugin/contract.ts";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";
import type { LevelName, LogSink } from "./log.ts";
import { RotatingFile } from "../runtime/rotating-file.ts";

/** Properties that only a restart of xend applies. */
const AT_RESTART = ["plugin-path", "hypervisor", "qemu-accel", "qemu-binary", "qemu-user"] as const;

/** Can xend write a log at `path`? (It creates the file as the log would.) */
function logfileProblem(path: string, sink: LogSink): string | undefined {
  if (path === sink.mainPath) return undefined;
  try {
    new RotatingFile(path).close();
    return undefined;
  } catch (error) {
    return `cannot write ${path}: ${errorMessage(error)}`;
  }
}

export function xendPlugin(paths: Paths, sink: LogSink, metrics?: () => Promise<string>): PluginDefinition {
  return definePlugin({
    name: CORE_OWNER,
    description: "The daemon's own properties: its log, log level, plugin directories, hypervisor driver and metrics address.",
    properties: withValidation(CORE_PROPERTIES, {
      logfile: { validate: (value) => logfileProblem(paths.under(value), sink), show: (value) => paths.under(value) },
    }),
    async setup(ctx) {
      // config/metrics-address: GET /metrics over TCP too (opt-in; nothing else is served there).
      let tcp: { address: string; handle: ServerHandle } | undefined;
      const serveMetrics = async (): Promise<void> => {
        const want = ctx.config["metrics-address"];
        if (tcp && tcp.address === want) return;
        if (tcp) {
          const old = tcp;
          tcp = undefined;
          await old.handle.close();
          ctx.log.info(`metrics no longer served on TCP ${old.handle.address}`);
        }
        const at = want ? parseMetricsAddress(want) : undefined;
        if (!at || !metrics) {
          ctx.degrade(undefined);
          return;
        }
        try {
          const handle = await ctx.serve({ hostname: at.hostname, port: at.port }, async (req) => {
            const url = new URL(req.url);
            if (req.method !== "GET" || url.pathname !== "/metrics") return new Response("only GET /metrics here\n", { status: 404 });
            return new Response(await metrics(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
          });
          tcp = { address: want, handle };
          ctx.log.info(`metrics served on TCP ${handle.address} (GET /metrics)`);
          ctx.degrade(undefined);
        } catch (error) {
          const reason = `config/metrics-address: cannot listen on ${want}: ${errorMessage(error)}`;
          ctx.log.error(reason);
          ctx.degrade(reason);
        }
      };
      await serveMetrics();
      return {
        async refresh(changes) {
          if (changes.has("metrics-address")) await serveMetrics();
          const level = ctx.config.loglevel as LevelName;
          if (changes.has("logfile")) sink.openMain(paths.under(ctx.config.logfile), level);
          if (changes.has("loglevel") || changes.has("logfile")) sink.setLevel(level);
          for (const name of AT_RESTART) {
            if (changes.has(name)) ctx.log.warn(`config/${name} changed; it takes effect when xend restarts`);
          }
        },
      };
    },
  }) as PluginDefinition;
}
