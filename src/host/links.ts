/**
 * The host's network links as Linux shows them in /sys/class/net, classified in dladm's terms
 * (docs/host-resources.md has the table). The sysfs root is a parameter so that tests can build
 * fake trees; netlink "kinds" (from `ip -d link`) are an optional refinement passed in by the
 * caller, because sysfs alone cannot tell a dummy link from an ifb one.
 */
import { existsSync, readFileSync, readdirSync, readlinkSync } from "node:fs";
import { basename, join } from "node:path";

export const SYSFS_NET = "/sys/class/net";

/**
 * dladm's classes where Solaris has one (phys, aggr, vlan, vnic, bridge, iptun), Linux's name
 * otherwise (veth, tun, tap, dummy, ifb, vxlan, …), `virtual` when nothing says more.
 */
export type LinkClass = string;

export type LinkState = "up" | "down" | "unknown";

export interface Link {
  name: string;
  ifindex: number;
  class: LinkClass;
  mtu: number | undefined;
  state: LinkState;
  /** What the link is built over: a vlan's or vnic's lower link, aggregation and bridge ports, a veth's peer. */
  over: string[];
  /** The bridge, aggregation or other master this link is enslaved to. */
  master?: string;
  /** Backed by a bus device (PCI, virtio, USB, …): a physical NIC. */
  hardware: boolean;
}

export interface ReadLinksOptions {
  /** Folder holding one entry per link (default /sys/class/net). */
  sysfsNet?: string;
  /** Link name -> netlink kind (`veth`, `dummy`, `bridge`, …), when known. */
  kinds?: ReadonlyMap<string, string>;
}

const ARPHRD_LOOPBACK = 772;
/** Tunnel hardware types: IPIP, TUNNEL6, SIT, IPGRE, IP6GRE. */
const ARPHRD_TUNNELS = new Set([768, 769, 776, 778, 823]);
const IFF_UP = 0x1;
const IFF_TAP = 0x2;

/** Netlink kinds -> class; kinds not listed keep their own name. */
const KIND_CLASS: Record<string, LinkClass> = {
  bridge: "bridge",
  bond: "aggr",
  team: "aggr",
  vlan: "vlan",
  macvlan: "vnic",
  macvtap: "vnic",
  ipvlan: "vnic",
  ipvtap: "vnic",
  veth: "veth",
  dummy: "dummy",
  ifb: "ifb",
  ipip: "iptun",
  gre: "iptun",
  gretap: "iptun",
  sit: "iptun",
  ip6tnl: "iptun",
  ip6gre: "iptun",
  ip6gretap: "iptun",
  vti: "iptun",
  vti6: "iptun",
  erspan: "iptun",
};

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

function readInt(path: string): number | undefined {
  const text = readText(path);
  if (text === undefined || text === "") return undefined;
  const n = text.startsWith("0x") ? Number.parseInt(text, 16) : Number.parseInt(text, 10);
  return Number.isFinite(n) ? n : undefined;
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

function linkTarget(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

function devtype(dir: string): string | undefined {
  const uevent = readText(join(dir, "uevent")) ?? "";
  return /^DEVTYPE=(.+)$/m.exec(uevent)?.[1]?.trim();
}

/**
 * Link state as dladm reports it (up, down, unknown) from the kernel's operstate. Links whose
 * driver reports no operstate (loopback, tun) are up when administratively up with carrier.
 */
function linkState(dir: string): LinkState {
  const oper = readText(join(dir, "operstate"));
  if (oper === "up") return "up";
  if (oper === "down" || oper === "lowerlayerdown" || oper === "notpresent" || oper === "dormant") return "down";
  const flags = readInt(join(dir, "flags"));
  if (flags === undefined) return "unknown";
  if ((flags & IFF_UP) === 0) return "down";
  const carrier = readInt(join(dir, "carrier"));
  return carrier === 0 ? "down" : "up";
}

interface Raw {
  name: string;
  dir: string;
  ifindex: number;
  iflink: number | undefined;
  lowers: string[];
}

function classify(raw: Raw, kind: string | undefined): LinkClass {
  const { dir } = raw;
  const type = readInt(join(dir, "type"));
  if (type === ARPHRD_LOOPBACK) return "loopback";
  const tunFlags = readInt(join(dir, "tun_flags"));
  if (tunFlags !== undefined) return (tunFlags & IFF_TAP) !== 0 ? "tap" : "tun";
  const dt = devtype(dir);
  if (existsSync(join(dir, "bridge")) || dt === "bridge") return "bridge";
  if (existsSync(join(dir, "bonding")) || dt === "bond") return "aggr";
  if (dt === "vlan") return "vlan";
  if (existsSync(join(dir, "device"))) return "phys";
  if (kind) return KIND_CLASS[kind] ?? kind;
  if (dt) return KIND_CLASS[dt] ?? dt;
  if (type !== undefined && ARPHRD_TUNNELS.has(type)) return "iptun";
  // Without netlink's word: a link over another one with no type of its own is a macvlan-like
  // vnic; one whose iflink names another link but has no lower link is a veth (iflink = peer).
  if (raw.lowers.length > 0) return "vnic";
  if (raw.iflink !== undefined && raw.iflink !== raw.ifindex) return "veth";
  return "virtual";
}

/** The links of the host (or of a fake sysfs tree), in ifindex order: the order dladm shows them. */
export function readLinks(options: ReadLinksOptions = {}): Link[] {
  const root = options.sysfsNet ?? SYSFS_NET;
  const raws: Raw[] = [];
  for (const name of listDir(root)) {
    const dir = join(root, name);
    const ifindex = readInt(join(dir, "ifindex"));
    if (ifindex === undefined) continue; // not a link (bonding_masters and the like)
    const lowers = listDir(dir).filter((e) => e.startsWith("lower_")).map((e) => e.slice("lower_".length)).sort();
    raws.push({ name, dir, ifindex, iflink: readInt(join(dir, "iflink")), lowers });
  }
  raws.sort((a, b) => a.ifindex - b.ifindex || a.name.localeCompare(b.name));
  const byIndex = new Map(raws.map((r) => [r.ifindex, r.name]));
  const indexOf = new Map(raws.map((r) => [r.name, r.ifindex]));
  const inIndexOrder = (names: string[]): string[] =>
    [...names].sort((a, b) => (indexOf.get(a) ?? Infinity) - (indexOf.get(b) ?? Infinity) || a.localeCompare(b));

  return raws.map((raw): Link => {
    const cls = classify(raw, options.kinds?.get(raw.name));
    let over: string[];
    if (cls === "bridge") {
      const ports = listDir(join(raw.dir, "brif"));
      over = inIndexOrder(ports.length > 0 ? ports : raw.lowers);
    } else if (cls === "aggr") {
      const slaves = (readText(join(raw.dir, "bonding", "slaves")) ?? "").split(/\s+/).filter(Boolean);
      over = slaves.length > 0 ? slaves : inIndexOrder(raw.lowers);
    } else if (cls === "veth") {
      const peer = raw.iflink !== undefined && raw.iflink !== raw.ifindex ? byIndex.get(raw.iflink) : undefined;
      over = peer ? [peer] : [];
    } else {
      over = inIndexOrder(raw.lowers);
    }
    const master = linkTarget(join(raw.dir, "master"));
    return {
      name: raw.name,
      ifindex: raw.ifindex,
      class: cls,
      mtu: readInt(join(raw.dir, "mtu")),
      state: linkState(raw.dir),
      over,
      ...(master ? { master } : {}),
      hardware: cls === "phys",
    };
  });
}
