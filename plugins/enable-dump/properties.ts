/**
 * The enable-dump plugin's properties (config/<name> in the repository). Declarations only: svcs and
 * svccfg read them through src/daemon/builtin-properties.ts without loading the plugin's code.
 */
import type { PropertyDecls } from "xvm/plugin";

export const properties = {
  "enable-dump": {
    type: "boolean",
    default: true,
    description: "Create a domain core dump in /var/xen/dump when a domain crashes.",
  },
  "dump-directory": {
    type: "astring",
    default: "/var/xen/dump",
    description: "Directory (under the state root) that receives domain crash dumps.",
  },
  "dump-limit": {
    type: "integer",
    default: 4096,
    min: 0,
    description: "Most MiB the dump directory may hold; the oldest dumps are removed beyond it (0 = no limit).",
  },
} as const satisfies PropertyDecls;
