/**
 * default-nic's properties, apart from the plugin so that the SMF commands (which build the xend
 * manifest from every built-in plugin's declarations) read them without evaluating the plugin.
 */
import type { PropertyDecls } from "../../src/plugin/contract.ts";

export const properties = {
  "default-nic": {
    type: "astring",
    default: "",
    description: "Default network interface for guest domain networking; empty means the first non-legacy link of `dladm show-link`.",
  },
} as const satisfies PropertyDecls;
