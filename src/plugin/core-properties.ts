/**
 * Properties of the daemon itself (not of a plugin), declared like a plugin's so they appear in
 * the repository, `svccfg describe` and `svccfg export` the same way.
 */
import type { PropertyDecls } from "./contract.ts";

export const CORE_OWNER = "xend";

export const CORE_PROPERTIES = {
  logfile: {
    type: "astring",
    default: "/var/log/xen/xend.log",
    description: "xend's log file (under the state root), rotated at 1 MiB keeping 5.",
  },
  loglevel: {
    type: "astring",
    default: "DEBUG",
    values: ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    description: "Lowest level written to xend.log.",
  },
  "plugin-path": {
    type: "astring",
    default: "/usr/lib/xvm/plugins",
    description: "Colon-separated directories (under the state root) searched for external plugins at start.",
  },
  hypervisor: {
    type: "astring",
    default: "sim",
    values: ["sim"],
    description: "Hypervisor driver; `sim` is the embedded simulated hypervisor.",
  },
} as const satisfies PropertyDecls;
