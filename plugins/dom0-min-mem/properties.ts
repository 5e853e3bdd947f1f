/**
 * The dom0-min-mem plugin's properties (config/<name> in the repository). Declarations only: svcs and
 * svccfg read them through src/daemon/builtin-properties.ts without loading the plugin's code.
 */
import type { PropertyDecls } from "xvm/plugin";

export const DEFAULT_MIN_MIB = 196;

export const properties = {
  "dom0-min-mem": {
    type: "integer",
    default: DEFAULT_MIN_MIB,
    min: 0,
    description: "Minimum memory guaranteed to the control domain (dom0), in MB.",
  },
  "host-memory": {
    type: "integer",
    default: 0,
    min: 0,
    description: "Host memory xend accounts for, in MiB (xm info total_memory); 0 means the host's real memory. Lower it to test ballooning or to cap what guests may use.",
  },
} as const satisfies PropertyDecls;
