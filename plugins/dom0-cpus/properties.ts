/**
 * dom0-cpus's properties, apart from the plugin so that the SMF commands (which build the xend
 * manifest from every built-in plugin's declarations) read them without evaluating the plugin.
 */
import type { PropertyDecls } from "../../src/plugin/contract.ts";

export const properties = {
  "dom0-cpus": {
    type: "integer",
    default: 0,
    min: 0,
    description: "Number of physical CPUs used for dom0's virtual CPUs; 0 places each virtual CPU on its own physical CPU where possible.",
  },
} as const satisfies PropertyDecls;
