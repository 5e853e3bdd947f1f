/**
 * The relocation plugin's properties (config/<name> in the repository). Declarations only: svcs and
 * svccfg read them through src/daemon/builtin-properties.ts without loading the plugin's code.
 */
import { isAbsolute } from "node:path";
import type { PropertyDecls } from "xvm/plugin";
import { checkHostsAllow } from "./hosts-allow.ts";

export const properties = {
  "xend-relocation-server": {
    type: "boolean",
    default: true,
    description: "Listen for relocation (live migration) requests.",
  },
  "xend-relocation-port": {
    type: "integer",
    default: 8002,
    min: 1,
    max: 65535,
    description: "TCP port of the relocation server.",
  },
  "xend-relocation-address": {
    type: "astring",
    default: "127.0.0.1",
    description: "Address the relocation server listens on; empty means all interfaces.",
  },
  "xend-relocation-hosts-allow": {
    type: "astring",
    default: "^localhost$",
    description: "Space-separated regular expressions; a peer whose host name or address matches one may connect. Empty allows all.",
    check: checkHostsAllow,
  },
  "xend-relocation-key": {
    type: "astring",
    default: "",
    description: "Key file shared by the hosts that may migrate to each other (HMAC-SHA-256 challenge-response); empty means /etc/xen/relocation.key, generated at first start (mode 0600).",
    check: checkKeyProperty,
  },
  "xend-relocation-paths-allow": {
    type: "astring",
    default: "",
    description: "Absolute folders, separated by spaces, inside which a migrated-in domain may name host files (disks, kernel, ramdisk); empty allows none.",
    check: checkPathsAllow,
  },
  "xend-relocation-max-downtime": {
    type: "integer",
    default: 300,
    min: 1,
    max: 2_000_000,
    description: "Live migration downtime target in milliseconds (stop-and-copy once the rest fits in it).",
  },
} as const satisfies PropertyDecls;

/**
 * config/xend-relocation-key: empty or the path of a key file. The key itself never goes into the
 * repository, which every local user can read (repository.db is 0644).
 */
export function checkKeyProperty(value: string): string | undefined {
  if (value === "" || value.startsWith("/")) return undefined;
  return "must be empty (the generated key file /etc/xen/relocation.key) or the absolute path of a key file; the key itself never goes into the repository, which every local user can read";
}

/** config/xend-relocation-paths-allow: absolute folders separated by white space. */
export function checkPathsAllow(value: string): string | undefined {
  const bad = value.split(/\s+/).find((p) => p !== "" && !isAbsolute(p));
  return bad !== undefined ? `'${bad}' is not an absolute folder (give absolute folders separated by spaces)` : undefined;
}
