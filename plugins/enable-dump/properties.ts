/**
 * enable-dump's properties, apart from the plugin so that the SMF commands (which build the xend
 * manifest from every built-in plugin's declarations) read them without evaluating the plugin.
 */
import type { PropertyDecls } from "../../src/plugin/contract.ts";

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
