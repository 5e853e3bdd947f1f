import { existsSync, statSync } from "node:fs";
import { definePlugin } from "xvm/plugin";
import { properties } from "./properties.ts";
import { Dumper } from "./dumper.ts";
import { legacyDumpOp } from "./legacy.ts";
import { dumpRoutes } from "./routes.ts";

export default definePlugin({
  name: "enable-dump",
  description: "Writes a core dump of a domain that crashes.",
  properties,
  setup(ctx) {
    const dumper = new Dumper(ctx);
    dumpRoutes(ctx.routes, dumper);
    const unregisterLegacy = ctx.legacyHttp?.registerDomainOp("dump", legacyDumpOp(dumper));
    // The directory is created on the first dump; say early if something is in its way.
    const dir = dumper.dumpDir;
    if (existsSync(dir) && !statSync(dir).isDirectory()) {
      ctx.log.warn(`dump directory ${dir} is not a directory: crash dumps will fail until it is moved away`);
    } else if (dumper.recoverPartials() > 0) {
      // `.partial` files a daemon killed mid-dump left are -incomplete now, and count for dump-limit.
      dumper.prune();
    }
    return {
      hooks: {
        // Awaited by the core before the on_crash action runs, with the guest still intact.
        async domainCrashed(domain, { wantDump }) {
          const enabled = ctx.config["enable-dump"];
          if (!enabled && !wantDump) return;
          await dumper.crashDump(domain, enabled ? "config/enable-dump is true" : `on_crash is ${domain.config.on_crash}`);
        },
      },
      refresh(changes) {
        // The hook reads ctx.config on every crash, so a new enable-dump applies from the next crash on.
        if (changes.has("enable-dump")) {
          ctx.log.info(`crash dumps ${ctx.config["enable-dump"] ? "enabled" : "disabled"} (config/enable-dump = ${ctx.config["enable-dump"]})`);
        }
        if (changes.has("dump-directory")) ctx.log.info(`crash dumps now go to ${dumper.dumpDir}`);
        if (changes.has("dump-limit") || changes.has("dump-directory")) dumper.prune();
      },
      stop() {
        unregisterLegacy?.();
      },
    };
  },
});
