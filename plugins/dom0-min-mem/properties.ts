/**
 * dom0-min-mem's properties, apart from the plugin so that the SMF commands (which build the xend
 * manifest from every built-in plugin's declarations) read them without evaluating the plugin.
 */
import type { PropertyDecls } from "../../src/plugin/contract.ts";

/** The default floor; also what stands in at start for a value larger than the host. */
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
