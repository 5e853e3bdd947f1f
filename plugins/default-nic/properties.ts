/**
 * The default-nic plugin's properties (config/<name> in the repository). Declarations only: svcs and
 * svccfg read them through src/daemon/builtin-properties.ts without loading the plugin's code.
 */
import type { PropertyDecls } from "xvm/plugin";

export const properties = {
  "default-nic": {
    type: "astring",
    default: "",
    description: "Default network interface for guest domain networking; empty means the first non-legacy link of `dladm show-link`.",
  },
} as const satisfies PropertyDecls;
