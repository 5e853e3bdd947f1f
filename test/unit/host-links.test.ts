import { afterEach, describe, expect, it } from "vitest";
import { readLinks, type Link } from "../../src/host/links.ts";
import { chooseDefaultNic, legacyReason } from "../../src/host/link-choice.ts";
import { parseIpLinkKinds } from "../../src/host/link-kinds.ts";
import { FakeSysfs } from "../helpers/host-sysfs-fixture.ts";

let trees: FakeSysfs[] = [];
function tree(): FakeSysfs {
  const t = new FakeSysfs();
  trees.push(t);
  return t;
}
afterEach(() => {
  for (const t of trees) t.remove();
  trees = [];
});

const summary = (links: Link[]) => links.map((l) => `${l.name}:${l.class}:${l.state}:${l.over.join("+") || "-"}${l.master ? `@${l.master}` : ""}`);

/** A host with one of everything, created in this ifindex order. */
function busyHost(): FakeSysfs {
  return tree()
    .add({ name: "lo", ifindex: 1, type: 772, mtu: 65536, operstate: "unknown", flags: 0x9, carrier: 1 })
    .add({ name: "eth0", ifindex: 2, device: true })
    .add({ name: "eth1", ifindex: 3, device: true, master: "br0" })
    .add({ name: "eth2", ifindex: 4, device: true, master: "bond0" })
    .add({ name: "eth3", ifindex: 5, device: true, master: "bond0", operstate: "down", flags: 0x1002 })
    .add({ name: "br0", ifindex: 6, devtype: "bridge", bridgePorts: ["eth1"], lowers: ["eth1"] })
    .add({ name: "bond0", ifindex: 7, devtype: "bond", bondSlaves: ["eth2", "eth3"], lowers: ["eth2", "eth3"] })
    .add({ name: "eth0.10", ifindex: 8, iflink: 2, devtype: "vlan", lowers: ["eth0"] })
    .add({ name: "veth1", ifindex: 9, iflink: 10 })
    .add({ name: "veth0", ifindex: 10, iflink: 9 })
    .add({ name: "tun0", ifindex: 11, type: 65534, tunFlags: 0x1001, operstate: "unknown", flags: 0x1091, carrier: 1 })
    .add({ name: "tap0", ifindex: 12, tunFlags: 0x1002, operstate: "down", flags: 0x1002 })
    .add({ name: "dummy0", ifindex: 13, operstate: "unknown", flags: 0x83 })
    .add({ name: "ifb0", ifindex: 14, operstate: "down", flags: 0x82 })
    .add({ name: "mv0", ifindex: 15, iflink: 2, lowers: ["eth0"] })
    .add({ name: "vx0", ifindex: 16, devtype: "vxlan" })
    .add({ name: "ipip0", ifindex: 17, type: 768, mtu: 1480, operstate: "unknown", flags: 0x80 })
    .addFile("bonding_masters", "bond0\n");
}

describe("link classification from sysfs", () => {
  it("classifies each kind of link and lists them in ifindex order", () => {
    const links = readLinks({ sysfsNet: busyHost().net });
    expect(summary(links)).toEqual([
      "lo:loopback:up:-",
      "eth0:phys:up:-",
      "eth1:phys:up:-@br0",
      "eth2:phys:up:-@bond0",
      "eth3:phys:down:-@bond0",
      "br0:bridge:up:eth1",
      "bond0:aggr:up:eth2+eth3",
      "eth0.10:vlan:up:eth0",
      "veth1:veth:up:veth0",
      "veth0:veth:up:veth1",
      "tun0:tun:up:-",
      "tap0:tap:down:-",
      "dummy0:virtual:up:-",
      "ifb0:virtual:down:-",
      "mv0:vnic:up:eth0",
      "vx0:vxlan:up:-",
      "ipip0:iptun:down:-",
    ]);
    expect(links.find((l) => l.name === "lo")!.mtu).toBe(65536);
    expect(links.filter((l) => l.hardware).map((l) => l.name)).toEqual(["eth0", "eth1", "eth2", "eth3"]);
  });

  it("uses netlink kinds where sysfs cannot tell (dummy, ifb) and keeps sysfs facts first", () => {
    const kinds = new Map([
      ["dummy0", "dummy"],
      ["ifb0", "ifb"],
      ["mv0", "macvlan"],
      ["veth0", "veth"],
      ["ipip0", "ipip"],
      ["tun0", "tun"],
    ]);
    const links = readLinks({ sysfsNet: busyHost().net, kinds });
    const cls = Object.fromEntries(links.map((l) => [l.name, l.class]));
    expect(cls).toMatchObject({ dummy0: "dummy", ifb0: "ifb", mv0: "vnic", veth0: "veth", ipip0: "iptun", tun0: "tun", eth0: "phys" });
  });

  it("reads `ip -json -details link show` output into kinds", () => {
    const json = JSON.stringify([
      { ifindex: 1, ifname: "lo" },
      { ifindex: 2, ifname: "d0", linkinfo: { info_kind: "dummy" } },
      { ifindex: 3, ifname: "v0", linkinfo: { info_kind: "veth" } },
    ]);
    expect([...parseIpLinkKinds(json)]).toEqual([
      ["d0", "dummy"],
      ["v0", "veth"],
    ]);
    expect(parseIpLinkKinds("not json").size).toBe(0);
  });

  it("maps operstate to dladm's up/down/unknown", () => {
    const t = tree()
      .add({ name: "a", ifindex: 1, device: true, operstate: "lowerlayerdown" })
      .add({ name: "b", ifindex: 2, device: true, operstate: "dormant" })
      .add({ name: "c", ifindex: 3, operstate: "unknown", flags: 0x1, carrier: 0 })
      .add({ name: "d", ifindex: 4, operstate: "unknown", flags: 0x0 })
      .add({ name: "e", ifindex: 5, operstate: "testing" });
    expect(readLinks({ sysfsNet: t.net }).map((l) => `${l.name}=${l.state}`)).toEqual(["a=down", "b=down", "c=down", "d=down", "e=up"]);
  });

  it("returns nothing for a missing tree", () => {
    expect(readLinks({ sysfsNet: "/nonexistent/xvm/sysfs" })).toEqual([]);
  });
});

describe("legacy links and the default NIC", () => {
  it("explains why each link of a busy host is or is not eligible", () => {
    const links = readLinks({ sysfsNet: busyHost().net });
    expect(Object.fromEntries(links.map((l) => [l.name, legacyReason(l, links) ?? "eligible"]))).toEqual({
      lo: "loopback",
      eth0: "eligible",
      eth1: "port of br0",
      eth2: "port of bond0",
      eth3: "port of bond0",
      br0: "eligible",
      bond0: "eligible",
      "eth0.10": "eligible",
      veth1: "virtual",
      veth0: "virtual",
      tun0: "virtual",
      tap0: "virtual",
      dummy0: "virtual",
      ifb0: "virtual",
      mv0: "eligible",
      vx0: "virtual",
      ipip0: "virtual",
    });
    const choice = chooseDefaultNic(links);
    expect(choice.link?.name).toBe("eth0");
    expect(choice.explanation).toBe("eth0 (phys, up): first eligible link that is up in dladm show-link order");
  });

  it("skips a NIC that is down for one that is up, and takes a down one when none is up", () => {
    const t = tree()
      .add({ name: "lo", ifindex: 1, type: 772 })
      .add({ name: "eth0", ifindex: 2, device: true, operstate: "down" })
      .add({ name: "eth1", ifindex: 3, device: true, operstate: "up" });
    expect(chooseDefaultNic(readLinks({ sysfsNet: t.net })).link?.name).toBe("eth1");
    const u = tree()
      .add({ name: "eth0", ifindex: 2, device: true, operstate: "down" })
      .add({ name: "eth1", ifindex: 3, device: true, operstate: "down" });
    const choice = chooseDefaultNic(readLinks({ sysfsNet: u.net }));
    expect(choice.link?.name).toBe("eth0");
    expect(choice.explanation).toBe("eth0 (phys, down): first eligible link (none is up) in dladm show-link order");
  });

  it("chooses the bridge a NIC is a port of (Xen's xenbr0 set-up)", () => {
    const t = tree()
      .add({ name: "lo", ifindex: 1, type: 772 })
      .add({ name: "eth0", ifindex: 2, device: true, master: "xenbr0" })
      .add({ name: "xenbr0", ifindex: 3, bridgePorts: ["eth0"], lowers: ["eth0"] });
    expect(chooseDefaultNic(readLinks({ sysfsNet: t.net })).link?.name).toBe("xenbr0");
  });

  it("never chooses layered links with nothing physical underneath", () => {
    const t = tree()
      .add({ name: "lo", ifindex: 1, type: 772 })
      .add({ name: "v1", ifindex: 2, iflink: 3, master: "br0" })
      .add({ name: "v0", ifindex: 3, iflink: 2 })
      .add({ name: "br0", ifindex: 4, bridgePorts: ["v1"], lowers: ["v1"] })
      .add({ name: "v0.5", ifindex: 5, iflink: 3, devtype: "vlan", lowers: ["v0"] })
      .add({ name: "docker0", ifindex: 6, bridgePorts: [] });
    const links = readLinks({ sysfsNet: t.net });
    expect(links.map((l) => legacyReason(l, links))).toEqual(["loopback", "virtual", "virtual", "virtual", "virtual", "virtual"]);
    const choice = chooseDefaultNic(links);
    expect(choice.link).toBeUndefined();
    expect(choice.explanation).toBe(
      "no eligible link for guest networking; links seen: lo (loopback), v1 (virtual), v0 (virtual), br0 (virtual), v0.5 (virtual), docker0 (virtual)",
    );
  });

  it("follows stacks (bridge over bond over NICs) without looping on cycles", () => {
    const t = tree()
      .add({ name: "eth0", ifindex: 2, device: true, master: "bond0" })
      .add({ name: "bond0", ifindex: 3, bondSlaves: ["eth0"], master: "br0" })
      .add({ name: "br0", ifindex: 4, bridgePorts: ["bond0"] })
      .add({ name: "x", ifindex: 5, devtype: "vlan", lowers: ["y"] })
      .add({ name: "y", ifindex: 6, devtype: "vlan", lowers: ["x"] });
    const links = readLinks({ sysfsNet: t.net });
    expect(links.map((l) => `${l.name}=${legacyReason(l, links) ?? "eligible"}`)).toEqual([
      "eth0=port of bond0",
      "bond0=port of br0",
      "br0=eligible",
      "x=virtual",
      "y=virtual",
    ]);
  });
});
