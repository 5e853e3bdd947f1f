/**
 * The dom0-cpus plugin's properties (config/<name> in the repository). Declarations only: svcs and
 * svccfg read them through src/daemon/builtin-properties.ts without loading the plugin's code.
 */
import type { PropertyDecls } from "xvm/plugin";

export const properties = {
  "dom0-cpus": {
    type: "integer",
    default: 0,
    min: 0,
    description: "Number of physical CPUs used for dom0's virtual CPUs; 0 places each virtual CPU on its own physical CPU where possible.",
  },
} as const satisfies PropertyDecls;
