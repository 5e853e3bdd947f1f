/**
 * motd — an example external plugin. It declares one property, `config/motd-message`, serves it
 * on the control API at `GET /plugins/motd/`, reacts to `svcadm refresh`, and counts the domains
 * created through a hook. Install it by copying this folder into a plugin directory
 * (`/usr/lib/xvm/plugins/motd/` under the state root) and restarting xend.
 */
import { definePlugin } from "xvm/plugin";

export default definePlugin({
  name: "motd",
  version: "1.0.0",
  description: "A message of the day on the control API (example plugin).",
  properties: {
    "motd-message": {
      type: "astring",
      default: "Welcome to xvm",
      description: "Message served at /plugins/motd/ on the control API.",
      check: (value) => (value.length > 200 ? "at most 200 characters" : undefined),
    },
  },
  setup(ctx) {
    let created = 0;
    ctx.routes.get("/", (c) => c.json({ message: ctx.config["motd-message"], domainsCreated: created }));
    ctx.log.info(`serving "${ctx.config["motd-message"]}"`);
    return {
      refresh(changes) {
        // ctx.config already holds the new value; the log line is for the administrator.
        const change = changes.get("motd-message");
        if (change) ctx.log.info(`message changed from "${String(change[0])}" to "${String(change[1])}"`);
      },
      stop() {
        ctx.log.info(`stopping after ${created} domain(s) created`);
      },
      hooks: {
        domainCreated() {
          created += 1;
        },
      },
    };
  },
});
