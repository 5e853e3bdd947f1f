/**
 * hello — an example external plugin that adds a command: `xm hello <Domain>` greets a domain
 * with what xend knows of it. The plugin serves `GET /plugins/hello/<Domain>` on the control API
 * (the daemon side); the command (commands.ts, loaded only when it runs) calls that route (the
 * xm side). `config/hello-greeting` sets the word used.
 *
 * Install: copy this folder into a plugin directory (`/usr/lib/xvm/plugins/hello/` under the
 * state root) and restart xend. Type-checked against `xvm/plugin` by `npm test` (tsconfig.json
 * maps the specifier to src/plugin/public.ts; third parties use dist/plugin.d.ts).
 */
import { defineErrors, definePlugin, XvmError } from "xvm/plugin";
import { commands } from "./commands.ts";

/** The plugin's own error codes: they join xvm's error table (status, exit status, message). */
const errors = defineErrors("hello", {
  HELLO_NOT_RUNNING: { status: 409, message: "Domain '{dom}' is not running: there is nobody to greet." },
});

export default definePlugin({
  name: "hello",
  version: "1.0.0",
  description: "Greets domains: xm hello <Domain> (example plugin).",
  properties: {
    "hello-greeting": {
      type: "astring",
      default: "Hello",
      description: "The word xm hello greets a domain with.",
      check: (value) => (/^[\p{L} ,!.'-]{1,40}$/u.test(value) ? undefined : "letters, spaces and , ! . ' - only (at most 40)"),
    },
  },
  commands,
  setup(ctx) {
    ctx.routes.get("/:dom", async (c) => {
      const dom = c.req.param("dom");
      let domain;
      try {
        domain = await ctx.domains.get(dom);
      } catch (error) {
        if (error instanceof XvmError) throw error;
        throw new XvmError("XVM_INTERNAL", { detail: (error as Error).message });
      }
      if (domain.domid === null) throw errors.HELLO_NOT_RUNNING({ dom: domain.name });
      const state = domain.flags.paused ? "paused" : domain.flags.running || domain.flags.blocked ? "running" : domain.domid === null ? "halted" : "shut down";
      return c.json({
        greeting: `${ctx.config["hello-greeting"]}, ${domain.name}!`,
        domid: domain.domid,
        memory: domain.memory,
        state,
      });
    });
  },
});
