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
import { toResponse } from "./reply.ts";

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
    const fetch = (request: Request) => app.fetch(withAbsoluteUrl(request));
    const listeners = new Listeners(ctx, fetch, readOnly(fetch));
    await listeners.apply();
    return {
      refresh: () => listeners.apply(),
      stop: () => listeners.close(),
    };
  },
});

/**
 * The legacy interface over TCP is read-only (issue 13 §2): anyone who can reach the port can
 * connect, and xend's protocol has no authentication, so only GET and HEAD are served there
 * (lists, domain records, vcpuinfo, the node, the log); every POST — creating, destroying,
 * dumping, migrating — answers 403 and belongs on the Unix socket, which only root can open.
 */
export function readOnly(fetch: (request: Request) => Response | Promise<Response>): (request: Request) => Response | Promise<Response> {
  return (request) => {
    if (request.method === "GET" || request.method === "HEAD") return fetch(request);
    void request.body?.cancel();
    // Connection: close, as for every answer whose request body was not read (Bun's server would
    // otherwise wait on the same connection for a next request that never parses).
    return toResponse(request, {
      status: 403,
      body: "(xend.err 'The legacy interface over TCP is read-only: operations that change domains or write files are accepted only on the Unix socket (config/xend-unix-path)')",
      type: "text/plain",
    }, true);
  };
}
