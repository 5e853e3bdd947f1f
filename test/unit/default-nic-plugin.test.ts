import { afterEach, beforeEach, describe, expect, it } from "vitest";
import defaultNic from "../../plugins/default-nic/index.ts";
import { fillVifDefaults, uniqueXenMac } from "../../plugins/default-nic/vifs.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPluginHarness, type ConfigValue, type DomainCreateRequest, type DomainSummary, type PluginDefinition, type PluginHarness } from "xvm/plugin";
import { FakeSysfs } from "../helpers/host-sysfs-fixture.ts";
import { guestConfig, summary } from "../helpers/host-plugin-context.ts";

const plugin = defaultNic as PluginDefinition;

describe("vif defaults", () => {
  it("draws MACs in xend's range 00:16:3e:00-7f:xx:xx, avoiding those taken", () => {
    const draws = [0x7f, 0xff, 0x01, 0x12, 0x34, 0x56];
    const bounds: number[] = [];
    const random = (max: number) => {
      bounds.push(max);
      return draws.shift()!;
    };
    expect(uniqueXenMac(new Set(["00:16:3e:7f:ff:01"]), random)).toBe("00:16:3e:12:34:56");
    expect(bounds).toEqual([0x80, 0x100, 0x100, 0x80, 0x100, 0x100]);
    for (let i = 0; i < 200; i++) expect(uniqueXenMac(new Set())).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
  });

  it("walks the range when random draws keep hitting taken MACs", () => {
    const taken = new Set(["00:16:3e:00:00:00", "00:16:3e:00:00:01"]);
    expect(uniqueXenMac(taken, () => 0)).toBe("00:16:3e:00:00:02");
  });

  it("fills in a MAC and the default NIC only where a vif has none", () => {
    const vifs = [{}, { mac: "00:16:3e:00:00:01" }, { bridge: "br9" }, { mac: "00:16:3e:00:00:02", bridge: "br9" }];
    const taken = new Set<string>();
    let n = 0;
    const changes = fillVifDefaults(vifs, { nic: "eth0", taken }, () => (n++ % 3 === 2 ? n : 0));
    expect(vifs.map((v) => `${v.mac ?? "-"} ${v.bridge ?? "-"}`)).toEqual([
      "00:16:3e:00:00:03 eth0",
      "00:16:3e:00:00:01 eth0",
      "00:16:3e:00:00:06 br9",
      "00:16:3e:00:00:02 br9",
    ]);
    expect(changes).toEqual([
      { index: 0, mac: "00:16:3e:00:00:03", bridge: "eth0" },
      { index: 1, bridge: "eth0" },
      { index: 2, mac: "00:16:3e:00:00:06" },
    ]);
    expect([...taken]).toEqual(["00:16:3e:00:00:03", "00:16:3e:00:00:06"]);
    const unattached = [{}];
    fillVifDefaults(unattached, { nic: undefined, taken: new Set() });
    expect(unattached[0]).not.toHaveProperty("bridge");
  });
});

describe("the default-nic plugin", () => {
  let sysfs: FakeSysfs;
  let root: string | undefined;
  let h: PluginHarness | undefined;
  let domains: DomainSummary[] = [];
  const saved = process.env.XVM_SYSFS_NET;

  beforeEach(() => {
    sysfs = new FakeSysfs()
      .add({ name: "lo", ifindex: 1, type: 772 })
      .add({ name: "veth0", ifindex: 2, iflink: 3 })
      .add({ name: "veth1", ifindex: 3, iflink: 2 })
      .add({ name: "eth0", ifindex: 4, device: true, operstate: "down" })
      .add({ name: "eth1", ifindex: 5, device: true });
    process.env.XVM_SYSFS_NET = sysfs.net;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.XVM_SYSFS_NET;
    else process.env.XVM_SYSFS_NET = saved;
    sysfs.remove();
    if (root) rmSync(root, { recursive: true, force: true });
    root = undefined;
    h = undefined;
    domains = [];
  });

  /** The plugin through the real plugin host (xvm/plugin's harness). */
  const start = async (config: Record<string, ConfigValue> = {}): Promise<PluginHarness> => {
    root = mkdtempSync(join(tmpdir(), "xvm-default-nic-"));
    h = await startPluginHarness(plugin, { root, config, domains: { list: async () => domains } });
    return h;
  };

  const create = async (harness: PluginHarness, name: string, vif: DomainCreateRequest["config"]["vif"]) => {
    const request: DomainCreateRequest = { config: guestConfig(name, { vif }), needKiB: 256 * 1024 };
    await harness.fire("domainPreCreate", request);
    return request.config.vif;
  };

  it("attaches vifs without bridge= to the first eligible link that is up, and logs the choice", async () => {
    const instance = await start();
    expect(instance.lines).toContain("INFO (default-nic) default-nic: guest vifs without bridge= attach to eth1 (phys, up): first eligible link that is up in dladm show-link order");
    const vifs = await create(instance, "web1", [{}, { bridge: "veth0" }]);
    expect(vifs[0]!.bridge).toBe("eth1");
    expect(vifs[1]!.bridge).toBe("veth0");
    expect(vifs.every((v) => /^00:16:3e:[0-7]/.test(v.mac!))).toBe(true);
    expect(instance.reasons).toEqual([]);
  });

  it("never reuses a MAC another domain has, nor one handed out moments ago", async () => {
    const instance = await start();
    domains = [summary(1, guestConfig("old", { vif: [{ mac: "00:16:3e:00:00:07" }] }))];
    const macs = new Set<string>();
    for (let i = 0; i < 50; i++) for (const v of await create(instance, `g${i}`, [{}, {}])) macs.add(v.mac!);
    expect(macs.size).toBe(100);
    expect(macs.has("00:16:3e:00:00:07")).toBe(false);
    await create(instance, "dup", [{ mac: "00:16:3E:00:00:07" }]);
    expect(instance.lines).toContain("WARNING (default-nic) default-nic: vif 0 of dup has MAC 00:16:3E:00:00:07, already used by domain old");
  });

  it("uses a configured link, and refuses a refresh naming no link while keeping the previous value", async () => {
    const instance = await start({ "default-nic": "eth0" });
    expect((await create(instance, "a", [{}]))[0]!.bridge).toBe("eth0");

    // The host refuses it (the property's validate): the plugin never sees it.
    expect([...(await instance.refresh({ "default-nic": "nosuch0" }))]).toEqual([]);
    expect(instance.reasons).toEqual([
      "config/default-nic: no link named 'nosuch0' on this host (dladm show-link lists: lo, veth0, veth1, eth0, eth1); keeping 'eth0'",
    ]);
    expect(instance.config["default-nic"]).toBe("eth0");
    expect((await create(instance, "b", [{}]))[0]!.bridge).toBe("eth0");

    // Back to empty: the automatic choice again, and the reason is gone.
    await instance.refresh({ "default-nic": "" });
    expect(instance.reasons).toEqual([]);
    expect((await create(instance, "c", [{}]))[0]!.bridge).toBe("eth1");
  });

  it("degrades at start on a link that does not exist, uses the automatic choice, and recovers on refresh", async () => {
    const instance = await start({ "default-nic": "bge0" });
    const reason = "config/default-nic: no link named 'bge0' on this host (dladm show-link lists: lo, veth0, veth1, eth0, eth1); using the automatic choice (eth1) instead";
    expect(instance.reasons).toEqual([reason]);
    expect(instance.lines).toContain(`ERROR (xend.plugins) ${reason}`);
    expect((await create(instance, "a", [{}]))[0]!.bridge).toBe("eth1");

    sysfs.add({ name: "bge0", ifindex: 6, device: true });
    await instance.refresh();
    expect(instance.reasons).toEqual([]);
    expect((await create(instance, "b", [{}]))[0]!.bridge).toBe("bge0");
  });

  it("leaves vifs unattached, with a warning, when no link qualifies", async () => {
    sysfs.remove();
    sysfs = new FakeSysfs().add({ name: "lo", ifindex: 1, type: 772 }).add({ name: "veth0", ifindex: 2, iflink: 9 });
    process.env.XVM_SYSFS_NET = sysfs.net;
    const instance = await start();
    const vifs = await create(instance, "lonely", [{}]);
    expect(vifs[0]!.bridge).toBeUndefined();
    expect(vifs[0]!.mac).toMatch(/^00:16:3e:/);
    expect(instance.lines).toContain(
      "WARNING (default-nic) default-nic: no default NIC (no eligible link for guest networking; links seen: lo (loopback), veth0 (virtual)); lonely's vifs without bridge= are not attached",
    );
  });
});
