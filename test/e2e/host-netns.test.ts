/**
 * default-nic and `dladm show-link` against real kernel links: a network namespace of the test's
 * own with a veth pair, a bridge and (where the kernel has the modules) a dummy link and a VLAN.
 * xend runs inside the namespace (`ip netns exec`), so it sees only those links. Needs root and
 * iproute2; skipped with a message otherwise. No traffic leaves the namespace; it is always deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { addNamespaces, deleteNamespaces, ip } from "../helpers/netns.ts";
import { explained, expectFail, guestConfig, inNamespace, ok, setLive, svcState, waitState, xendLog, type Xvm } from "../helpers/host.ts";

const NS = `xvm-test-${process.pid}`;

const why = addNamespaces(NS);
if (why) console.warn(`host-netns: skipped: ${why}`);

/** Links a kernel may lack (modules not loaded): each is added if it can be, with its expected row. */
const OPTIONAL = [
  { name: "d0", add: ["link", "add", "d0", "type", "dummy"], row: "d0          dummy     1500   down     --" },
  { name: "v0.7", add: ["link", "add", "link", "v0", "name", "v0.7", "type", "vlan", "id", "7"], row: "v0.7        vlan      1500   down     v0" },
  { name: "tap0", add: ["tuntap", "add", "tap0", "mode", "tap"], row: "tap0        tap       1500   down     --" },
  { name: "mv0", add: ["link", "add", "mv0", "link", "v0", "type", "macvlan"], row: "mv0         vnic      1500   down     v0" },
  { name: "ifb7", add: ["link", "add", "ifb7", "type", "ifb"], row: "ifb7        ifb       1500   down     --" },
];

describe.skipIf(why !== undefined)("default-nic in a network namespace of the test's own", () => {
  let x: Xvm;
  let extra: typeof OPTIONAL = [];

  beforeAll(() => {
    const must = (...args: string[]) => {
      const r = ip("-n", NS, ...args);
      if (!r.ok) throw new Error(`ip -n ${NS} ${args.join(" ")}: ${r.err}`);
    };
    must("link", "set", "lo", "up");
    must("link", "add", "v0", "type", "veth", "peer", "name", "v1");
    must("link", "add", "br0", "type", "bridge");
    must("link", "set", "v1", "master", "br0");
    for (const l of OPTIONAL) {
      const r = ip("-n", NS, ...l.add);
      if (r.ok) extra.push(l);
      else console.warn(`host-netns: cannot add ${l.name} here (${r.err}); testing without it`);
    }
    for (const l of ["v0", "v1", "br0"]) must("link", "set", l, "up");
    x = inNamespace(NS, prepareRoot(tempRoot("xvm-netns-"), { relocation: false }));
  });

  afterAll(async () => {
    try {
      if (x) await cleanupRoot(x.root);
    } finally {
      deleteNamespaces(NS);
      extra = [];
    }
  });

  const names = () => ["lo", "v1", "v0", "br0", ...extra.map((l) => l.name)];

  it("lists the namespace's links with dladm show-link, classified, in creation order", async () => {
    const expected = [
      "LINK        CLASS     MTU    STATE    OVER",
      "lo          loopback  65536  up       --",
      "v1          veth      1500   up       v0",
      "v0          veth      1500   up       v1",
      "br0         bridge    1500   up       v1",
      ...extra.map((l) => l.row),
      "",
    ].join("\n");
    // Links come up asynchronously (the bridge once its port forwards).
    await waitFor(() => ok(x("dladm", "show-link")) === expected, "the namespace's links to be up", 10_000).catch(() => undefined);
    expect(ok(x("dladm", "show-link"))).toBe(expected);
    expect(ok(x("dladm", "show-link", "-p", "-o", "link,legacy"))).toBe(
      ["lo:loopback", ...names().slice(1).map((n) => `${n}:virtual`), ""].join("\n"),
    );
    expectFail(x("dladm", "show-link", "eth0"), "dladm: link eth0 is not valid: object not found");
  });

  it("chooses no link when every one is virtual, and says so", () => {
    ok(x("svcadm", "enable", "-s", "xend"));
    expect(svcState(x)).toBe("online");
    const seen = names().map((n) => `${n} (${n === "lo" ? "loopback" : "virtual"})`);
    expect(xendLog(x.root)).toContain(`default-nic: no eligible link for guest networking; links seen: ${seen.join(", ")}`);
    ok(x("xm", "create", guestConfig(x.root, "alone", "memory = 32\nvif = [ '' ]")));
    const sxp = ok(x("xm", "list", "-l", "alone"));
    expect(sxp).toMatch(/\(mac '?00:16:3e:/);
    expect(sxp).not.toMatch(/\(bridge /);
  });

  it("attaches to a namespace link named in config/default-nic, and refuses one only the host has", async () => {
    await setLive(x, { "default-nic": "br0" });
    expect(xendLog(x.root)).toContain("default-nic: guest vifs without bridge= attach to br0 (chosen by config/default-nic although virtual)");
    ok(x("xm", "create", guestConfig(x.root, "bridged", "memory = 32\nvif = [ '' ]")));
    expect(ok(x("xm", "list", "-l", "bridged"))).toMatch(/\(bridge '?br0'?\)/);

    await setLive(x, { "default-nic": "eth0" });
    await waitState(x, "degraded");
    await explained(x, `config/default-nic: no link named 'eth0' on this host (dladm show-link lists: ${names().join(", ")}); keeping 'br0'`);
  });
});
