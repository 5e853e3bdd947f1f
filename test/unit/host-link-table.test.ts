import { describe, expect, it } from "vitest";
import type { Link } from "../../src/host/links.ts";
import { formatLinkTable, selectFields } from "../../src/host/link-table.ts";

const link = (l: Partial<Link> & { name: string }): Link => ({
  ifindex: 1,
  class: "phys",
  mtu: 1500,
  state: "up",
  over: [],
  hardware: l.class === undefined || l.class === "phys",
  ...l,
});

const links: Link[] = [
  link({ name: "lo", class: "loopback", mtu: 65536, hardware: false }),
  link({ name: "eth0" }),
  link({ name: "eth1", master: "aggr0", state: "down" }),
  link({ name: "eth2", master: "aggr0" }),
  link({ name: "aggr0", class: "aggr", over: ["eth1", "eth2"], hardware: false }),
  link({ name: "averyveryverylongname0", class: "vlan", mtu: 9000, over: ["eth0"], hardware: false }),
  link({ name: "tap0", class: "tap", mtu: undefined, state: "unknown", hardware: false }),
];

describe("dladm show-link output", () => {
  it("prints dladm's default columns with libofmt's widths and -- for empty values", () => {
    expect(formatLinkTable(links.slice(0, 5), links, { fields: selectFields(undefined) })).toBe(
      [
        "LINK        CLASS     MTU    STATE    OVER",
        "lo          loopback  65536  up       --",
        "eth0        phys      1500   up       --",
        "eth1        phys      1500   down     --",
        "eth2        phys      1500   up       --",
        "aggr0       aggr      1500   up       eth1 eth2",
        "",
      ].join("\n"),
    );
  });

  it("lets a long value push the next columns right until they absorb it, as libofmt does", () => {
    expect(formatLinkTable(links.slice(5), links, { fields: selectFields(undefined) })).toBe(
      [
        "LINK        CLASS     MTU    STATE    OVER",
        "averyveryverylongname0 vlan 9000 up   eth0",
        "tap0        tap       ?      unknown  --",
        "",
      ].join("\n"),
    );
  });

  it("selects fields with -o, including xvm's LEGACY reason", () => {
    expect(formatLinkTable(links.slice(0, 5), links, { fields: selectFields("link,state,legacy") })).toBe(
      [
        "LINK        STATE    LEGACY",
        "lo          up       loopback",
        "eth0        up       no",
        "eth1        down     port of aggr0",
        "eth2        up       port of aggr0",
        "aggr0       up       no",
        "",
      ].join("\n"),
    );
    expect(selectFields("all").map((f) => f.name)).toEqual(["LINK", "CLASS", "MTU", "STATE", "OVER", "LEGACY"]);
    expect(() => selectFields("link,speed")).toThrow("invalid field 'speed'");
  });

  it("prints parsable lines: colon-separated, escaped, empty values empty, no header", () => {
    const odd = [link({ name: "a:b", class: "phys", over: [] }), link({ name: "c\\d", class: "vnic", over: ["a:b"], hardware: false })];
    expect(formatLinkTable(odd, odd, { fields: selectFields("link,class,over"), parsable: true })).toBe("a\\:b:phys:\nc\\\\d:vnic:a\\:b\n");
    expect(formatLinkTable(odd, odd, { fields: selectFields("link"), parsable: true })).toBe("a:b\nc\\d\n");
  });
});
