/**
 * Which link guest networking uses by default: the seed says "the first non-legacy interface
 * listed in the output of dladm show-link". On Linux a link is *legacy* (never chosen by default)
 * when it is loopback, purely virtual (nothing physical underneath it), or a port of a bridge or
 * aggregation (its master stands for it). docs/host-resources.md explains each rule.
 */
import type { Link } from "./links.ts";

/** Classes that carry traffic of the links they are built over. */
const LAYERED = new Set(["aggr", "vlan", "vnic", "bridge"]);
/** Masters whose ports are reached through them. */
const PORT_MASTERS = new Set(["bridge", "aggr"]);

function hardwareBacked(link: Link, byName: ReadonlyMap<string, Link>, seen: Set<string>): boolean {
  if (link.hardware) return true;
  if (!LAYERED.has(link.class) || seen.has(link.name)) return false;
  seen.add(link.name);
  return link.over.some((name) => {
    const lower = byName.get(name);
    return lower !== undefined && hardwareBacked(lower, byName, seen);
  });
}

/** Why a link is legacy (never chosen by default), or undefined when it is eligible. */
export function legacyReason(link: Link, links: readonly Link[]): string | undefined {
  const byName = new Map(links.map((l) => [l.name, l]));
  if (link.class === "loopback") return "loopback";
  if (!hardwareBacked(link, byName, new Set())) return "virtual";
  const master = link.master ? byName.get(link.master) : undefined;
  if (master && PORT_MASTERS.has(master.class)) return `port of ${master.name}`;
  return undefined;
}

export interface NicChoice {
  link: Link | undefined;
  /** One line for the log: what was chosen and why. */
  explanation: string;
}

/**
 * The default NIC: the first eligible link in show-link order that is up, else the first eligible
 * one whatever its state (a NIC whose cable is out still beats a virtual link).
 */
export function chooseDefaultNic(links: readonly Link[]): NicChoice {
  const eligible = links.filter((l) => legacyReason(l, links) === undefined);
  const up = eligible.find((l) => l.state === "up");
  const link = up ?? eligible[0];
  if (!link) {
    const seen = links.map((l) => `${l.name} (${legacyReason(l, links)})`).join(", ") || "none";
    return { link: undefined, explanation: `no eligible link for guest networking; links seen: ${seen}` };
  }
  const how = up ? "first eligible link that is up" : "first eligible link (none is up)";
  return { link, explanation: `${link.name} (${link.class}, ${link.state}): ${how} in dladm show-link order` };
}
