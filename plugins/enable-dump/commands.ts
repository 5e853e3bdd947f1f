/**
 * The enable-dump plugin's xm commands, declarations only: xm lists them without loading the
 * plugin; the implementation (xm-dump-core.ts) is loaded when the command runs.
 */
import type { PluginCommand } from "xvm/plugin";

export const commands: PluginCommand[] = [
  {
    name: "dump-core",
    description: "dump the core of a domain",
    details: `
      Writes the domain's memory and vCPU state as a Xen dump-core ELF file (readable with \`xvm mdb\`).
      Without a file name the dump goes to the dump directory (\`config/dump-directory\`,
      /var/xen/dump under the root) as \`YYYY-MMDD-HHMM.SS-<name>.<domid>.core\`. The domain is paused
      while dumping unless \`--live\` is given.
    `,
    examples: [
      ["Dump web1 into the dump directory", "$0 xm dump-core web1"],
      ["Dump without pausing, to a chosen file", "$0 xm dump-core -L web1 /tmp/web1.core"],
      ["Dump, then destroy the domain", "$0 xm dump-core --crash web1"],
    ],
    options: {
      live: { names: "-L,--live", kind: "boolean", description: "dump core without pausing the domain" },
      crash: { names: "-C,--crash", kind: "boolean", description: "crash (destroy) the domain after the dump" },
      reset: { names: "-R,--reset", kind: "boolean", description: "reset the domain after the dump" },
    },
    args: [{ name: "Domain" }, { name: "Filename", required: false }],
    load: () => import("./xm-dump-core.ts"),
  },
];
