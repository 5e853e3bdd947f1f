/**
 * The relocation plugin's xm commands, declarations only: xm lists them without loading the
 * plugin; the implementation (xm-migrate.ts) is loaded when the command runs.
 */
import type { PluginCommand } from "xvm/plugin";

export const commands: PluginCommand[] = [
  {
    name: "migrate",
    description: "migrate a domain to another machine",
    details: `
      Sends the domain to the xend on <Host>, whose relocation server must be on
      (\`config/xend-relocation-server\`) and must allow this host (\`config/xend-relocation-hosts-allow\`).
      With \`--live\` the domain keeps running while its memory is copied and pauses only for the last
      pages (\`config/xend-relocation-max-downtime\`, 300 ms by default); without it, it is paused
      for the whole copy. The domain is called \`migrating-<name>\` meanwhile; if anything fails it
      goes on running here under its own name.
    `,
    examples: [
      ["Live-migrate web1 to otherhost", "$0 xm migrate --live web1 otherhost"],
      ["Migrate to a relocation server on port 8102", "$0 xm migrate -l -p 8102 web1 10.0.0.2"],
    ],
    options: {
      live: { names: "-l,--live", kind: "boolean", description: "use live migration" },
      port: { names: "-p,--port", kind: "string", description: "use the specified TCP port for migration (default: xend-relocation-port)" },
      resource: { names: "-r,--resource", kind: "string", description: "limit the bandwidth to this many Mbit/s" },
    },
    args: [{ name: "Domain" }, { name: "Host" }],
    load: () => import("./xm-migrate.ts"),
  },
];
