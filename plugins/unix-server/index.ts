/**
 * The legacy xend HTTP interface (SXP over HTTP), as libvirt's old Xen driver spoke it: served on
 * the Unix socket `config/xend-unix-path` and optionally on TCP. The app is in app.ts, the
 * listeners in listeners.ts; everything goes through the plugin contract.
 */
import { readFile } from "node:fs/promises";
import { createLegacyHttpRegistry, definePlugin } from "xvm/plugin";
import { properties } from "./properties.ts";
import { createXendApp, withAbsoluteUrl } from "./app.ts";
import { Listeners } from "./listeners.ts";

export default definePlugin({
  name: "unix-server",
  description: "The legacy xend HTTP interface (SXP over HTTP) on a Unix socket, optionally on TCP.",
  properties,
  async setup(ctx) {
    // A host that predates the registry still gets the built-in ops; others' ops need the shared one.
    const ops = ctx.legacyHttp ?? createLegacyHttpRegistry();
    if (!ctx.legacyHttp) ctx.log.warn("no legacyHttp registry in the plugin context: ops of other plugins (dump, migrate) are not served");
    const logFile = () => (ctx.allConfig.logfile === undefined ? ctx.paths.xendLog : ctx.paths.under(String(ctx.allConfig.logfile)));
    const app = createXendApp({
      domains: ctx.domains,
      physInfo: () => ctx.hypervisor.physInfo(),
      readLog: () => readFile(logFile(), "utf8").catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return "";
        throw error;
      }),
      ops,
      log: ctx.log,
    });
    const listeners = new Listeners(ctx, (request) => app.fetch(withAbsoluteUrl(request)));
    await listeners.apply();
    return {
      refresh: () => listeners.apply(),
      stop: () => listeners.close(),
    };
  },
});
