/**
 * Builds fake /sys/class/net trees for the link tests: one folder per link with the files the
 * kernel shows (ifindex, iflink, type, mtu, operstate, flags, carrier, uevent) and the entries
 * that mark bridges, bonds, tun/tap devices, ports and lower links.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeLink {
  name: string;
  ifindex: number;
  iflink?: number;
  type?: number;
  mtu?: number;
  operstate?: string;
  flags?: number;
  carrier?: number;
  devtype?: string;
  /** A bus device behind it (physical NIC). */
  device?: boolean;
  bridgePorts?: string[];
  bondSlaves?: string[];
  tunFlags?: number;
  lowers?: string[];
  master?: string;
}

export class FakeSysfs {
  readonly root: string;
  readonly net: string;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), "xvm-sysfs-"));
    this.net = join(this.root, "class", "net");
    mkdirSync(this.net, { recursive: true });
  }

  add(link: FakeLink): this {
    // Real sysfs: /sys/class/net/<name> is a link to /sys/devices/.../net/<name>.
    const where = join(this.root, "devices", link.device ? "pci0000:00/0000:00:03.0/net" : "virtual/net", link.name);
    mkdirSync(where, { recursive: true });
    const file = (name: string, value: string | number): void => writeFileSync(join(where, name), `${value}\n`);
    file("ifindex", link.ifindex);
    file("iflink", link.iflink ?? link.ifindex);
    file("type", link.type ?? 1);
    file("mtu", link.mtu ?? 1500);
    file("operstate", link.operstate ?? "up");
    file("flags", `0x${(link.flags ?? 0x1003).toString(16)}`);
    if (link.carrier !== undefined) file("carrier", link.carrier);
    file("uevent", `${link.devtype ? `DEVTYPE=${link.devtype}\n` : ""}INTERFACE=${link.name}\nIFINDEX=${link.ifindex}`);
    if (link.device) mkdirSync(join(where, "device"));
    if (link.bridgePorts) {
      mkdirSync(join(where, "bridge"));
      mkdirSync(join(where, "brif"));
      for (const port of link.bridgePorts) symlinkSync(`../../${port}/brport`, join(where, "brif", port));
    }
    if (link.bondSlaves) {
      mkdirSync(join(where, "bonding"));
      file("bonding/slaves", link.bondSlaves.join(" "));
    }
    if (link.tunFlags !== undefined) file("tun_flags", `0x${link.tunFlags.toString(16)}`);
    for (const lower of link.lowers ?? []) symlinkSync(`../${lower}`, join(where, `lower_${lower}`));
    if (link.master) symlinkSync(`../${link.master}`, join(where, "master"));
    symlinkSync(where, join(this.net, link.name));
    return this;
  }

  /** A plain file among the links, as bonding_masters is. */
  addFile(name: string, content: string): this {
    writeFileSync(join(this.net, name), content);
    return this;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
