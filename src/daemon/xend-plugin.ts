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
import { CORE_OWNER, CORE_PROPERTIES } from "../plugin/core-properties.ts";
import type { LevelName, LogSink } from "./log.ts";
import { RotatingFile } from "../runtime/rotating-file.ts";

/** Properties that only a restart of xend applies. */
const AT_RESTART = ["plugin-path", "hypervisor", "qemu-accel", "qemu-binary"] as const;

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

export function xendPlugin(paths: Paths, sink: LogSink): PluginDefinition {
  return definePlugin({
    name: CORE_OWNER,
    description: "The daemon's own properties: its log, log level, plugin directories and hypervisor driver.",
    properties: withValidation(CORE_PROPERTIES, {
      logfile: { validate: (value) => logfileProblem(paths.under(value), sink), show: (value) => paths.under(value) },
    }),
    setup(ctx) {
      return {
        refresh(changes) {
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
