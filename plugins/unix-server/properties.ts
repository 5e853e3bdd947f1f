/**
 * The unix-server plugin's properties (config/<name> in the repository). Declarations only: svcs and
 * svccfg read them through src/daemon/builtin-properties.ts without loading the plugin's code.
 */
import type { PropertyDecls } from "xvm/plugin";

export const properties = {
  "xend-unix-server": {
    type: "boolean",
    default: true,
    description: "Provide the legacy HTTP server interface on the local machine (Unix socket).",
  },
  "xend-unix-path": {
    type: "astring",
    default: "/var/lib/xend/xend-socket",
    description: "Path (under the state root) of the legacy HTTP interface's Unix socket.",
  },
  "xend-http-server": {
    type: "boolean",
    default: false,
    description: "Also provide the legacy HTTP interface over TCP.",
  },
  "xend-port": {
    type: "integer",
    default: 8000,
    min: 1,
    max: 65535,
    description: "TCP port of the legacy HTTP interface.",
  },
  "xend-address": {
    type: "astring",
    default: "127.0.0.1",
    description: "Address of the legacy HTTP interface over TCP (read-only there); empty means all interfaces.",
  },
} as const satisfies PropertyDecls;
