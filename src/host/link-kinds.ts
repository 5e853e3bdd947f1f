/**
 * Netlink's name for each link's driver (`veth`, `dummy`, `ifb`, `bridge`, …), read through
 * iproute2 (`ip -json -details link show`). Only a refinement of the class sysfs gives: when `ip`
 * is missing or fails, the map is empty and the sysfs rules stand alone.
 */
import { spawnSync } from "node:child_process";

interface IpLink {
  ifname?: string;
  linkinfo?: { info_kind?: string };
}

export function parseIpLinkKinds(json: string): Map<string, string> {
  const kinds = new Map<string, string>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return kinds;
  }
  if (!Array.isArray(parsed)) return kinds;
  for (const entry of parsed as IpLink[]) {
    const kind = entry?.linkinfo?.info_kind;
    if (typeof entry?.ifname === "string" && typeof kind === "string" && kind !== "") kinds.set(entry.ifname, kind);
  }
  return kinds;
}

export function ipLinkKinds(): Map<string, string> {
  for (const ip of ["ip", "/usr/sbin/ip", "/sbin/ip"]) {
    const r = spawnSync(ip, ["-json", "-details", "link", "show"], { encoding: "utf8", timeout: 5_000 });
    if (r.error) continue;
    if (r.status === 0) return parseIpLinkKinds(r.stdout);
    break;
  }
  return new Map();
}
