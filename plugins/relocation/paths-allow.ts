/**
 * `config/xend-relocation-paths-allow` (no imports beyond node:path: svcs and svccfg read the
 * declarations without loading the plugin): absolute folders inside which a domain arriving by
 * migration may name host files — disks, kernel, ramdisk (incoming-policy.ts).
 */
import { isAbsolute, normalize } from "node:path";

/** The folders, normalised, in the order given. */
export function parsePathsAllow(value: string): string[] {
  return value.split(/\s+/).filter((p) => p !== "").map((p) => normalize(p).replace(/(?<=.)\/+$/, ""));
}

/** The property's check. */
export function checkPathsAllow(value: string): string | undefined {
  const bad = value.split(/\s+/).find((p) => p !== "" && !isAbsolute(p));
  return bad !== undefined ? `'${bad}' is not an absolute folder (give absolute folders separated by spaces)` : undefined;
}
