/**
 * The relocation key (`config/xend-relocation-key`): the secret two hosts share so that they, and
 * only they, can migrate guests to each other (src/security/peer-auth.ts runs the handshake).
 *
 * - `""` (the default): the file `/etc/xen/relocation.key` under the state root, generated with 32
 *   random bytes (mode 0600) the first time the daemon starts without one.
 * - an absolute path: that key file (under the state root, like every path xvm uses); it must exist.
 *
 * The key itself is never a property value: the repository is readable by every local user.
 * Sharing it between two hosts is copying the file (`xvm xm relocation-key` prints it,
 * `xvm xm relocation-key --import` writes it; docs/relocation-protocol.md).
 */
import type { Paths } from "../paths.ts";
import { loadKey, type SharedKey } from "./key-file.ts";

export const DEFAULT_KEY_FILE = "/etc/xen/relocation.key";
/** The purpose label of the relocation channel's handshake (peer-auth.ts). */
export const RELOCATION_AUTH_PURPOSE = "xvm-relocation";

/** Where the key file of this root is. */
export function relocationKeyFile(value: string, paths: Paths): string {
  return value === "" ? paths.under(DEFAULT_KEY_FILE) : paths.under(value);
}

/**
 * The key in force, read from its file (each connection reads it again, so a copied file takes
 * effect without a refresh). The default file is generated when missing; throws KeyFileError.
 */
export function relocationKey(value: string, paths: Paths): { key: SharedKey; created: boolean } {
  return loadKey(relocationKeyFile(value, paths), { create: value === "" });
}

