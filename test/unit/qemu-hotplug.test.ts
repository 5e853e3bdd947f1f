/**
 * The qemu driver's device hot-plug (src/hypervisor/qemu/hotplug.ts) against a scripted QMP: the
 * commands sent, in order, with their arguments; the rollback of a half-done attach; a booted
 * disk found in query-block and unplugged by its QOM path; a detach the guest never completes.
 * (test/e2e/qemu-devices.test.ts does the same with a real QEMU where there is one.)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Tap } from "../../src/hypervisor/qemu/command-line.ts";
import { attachDisk, attachVif, detachDisk, detachVif, type HotplugHost } from "../../src/hypervisor/qemu/hotplug.ts";
import { diskSlot, vifSlot } from "../../src/hypervisor/qemu/pci-slots.ts";
import type { QmpEvent } from "../../src/hypervisor/qemu/qmp.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-hotplug-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const img = join(dir, "d.img");
writeFileSync(img, Buffer.alloc(4096));

type Answer = (args: Record<string, unknown> | undefined) => unknown;

/** A QMP that answers from `answers` (default: ok) and emits DEVICE_DELETED after device_del unless told not to. */
function fakeHost(answers: Record<string, Answer> = {}, options: { eject?: boolean } = {}) {
  const sent: [string, Record<string, unknown> | undefined][] = [];
  const listeners = new Set<(e: QmpEvent) => void>();
  let taps: Tap[] = [];
  const host: HotplugHost = {
    unplugTimeoutMs: 200,
    async command<T>(_domid: number, cmd: string, args?: Record<string, unknown>): Promise<T> {
      sent.push([cmd, args]);
      const out = cmd === "query-status" && !answers[cmd] ? { status: "running" } : answers[cmd]?.(args);
      if (cmd === "device_del" && options.eject !== false) {
        setTimeout(() => listeners.forEach((l) => l({ event: "DEVICE_DELETED", data: { path: String(args?.id) } })), 5);
      }
      return out as T;
    },
    watchEvents(_domid, listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    taps: () => taps,
    setTaps: (_domid, change) => (taps = change(taps)),
  };
  return { host, sent };
}

const disk = (mode: string) => ({ devid: 51728, vdev: "xvdb", type: "file", path: img, mode });

describe("qemu hot-plug", () => {
  it("attaches a disk: a raw node over the file (read-only for mode r), then a virtio-blk-pci device", async () => {
    const { host, sent } = fakeHost();
    await attachDisk(host, 3, disk("r"));
    expect(sent).toEqual([
      ["blockdev-add", { "node-name": "xvm-disk-51728", driver: "raw", "read-only": true, file: { driver: "file", filename: img, "read-only": true } }],
      ["device_add", { driver: "virtio-blk-pci", id: "xvm-vbd-51728", drive: "xvm-disk-51728", addr: "9.0" }],
    ]);
  });

  it("takes the node back when device_add fails, and passes QEMU's error on", async () => {
    const { host, sent } = fakeHost({ device_add: () => { throw new Error("Bus 'pci.0' does not support hotplugging"); } });
    await expect(attachDisk(host, 3, disk("w"))).rejects.toThrow("Bus 'pci.0' does not support hotplugging");
    expect(sent.map(([c]) => c)).toEqual(["blockdev-add", "device_add", "blockdev-del"]);
  });

  it("names the file and the user QEMU runs as when QEMU cannot open it", async () => {
    const { host } = fakeHost({ "blockdev-add": () => { throw new Error(`Could not open '${img}': Permission denied`); } });
    const asUser = { ...host, user: { uid: 64055, gid: 64055 } };
    await expect(attachDisk(asUser, 3, disk("w"))).rejects.toThrow(
      `domain 3: disk xvdb: QEMU cannot use ${img}: Could not open '${img}': Permission denied (QEMU runs as uid 64055, config/qemu-user: the file must be readable and writable by it)`);
  });

  it("refuses a CD-ROM and a relative path before asking QEMU", async () => {
    const { host, sent } = fakeHost();
    await expect(attachDisk(host, 3, { ...disk("r"), vdev: "hdc:cdrom" })).rejects.toThrow("a CD-ROM cannot be hot-plugged");
    await expect(attachDisk(host, 3, { ...disk("r"), path: "d.img" })).rejects.toThrow("must be absolute");
    expect(sent).toEqual([]);
  });

  it("detaches a hot-plugged disk: device_del, DEVICE_DELETED, blockdev-del", async () => {
    const { host, sent } = fakeHost({
      "query-block": () => [{ device: "", qdev: "/machine/peripheral/xvm-vbd-51728/virtio-backend", inserted: { file: img } }],
    });
    await detachDisk(host, 3, disk("w"));
    expect(sent).toEqual([["query-block", undefined], ["query-status", undefined], ["device_del", { id: "/machine/peripheral/xvm-vbd-51728" }], ["blockdev-del", { "node-name": "xvm-disk-51728" }]]);
  });

  it("detaches a disk the guest booted with by its QOM path (QEMU drops its -drive backend itself)", async () => {
    const { host, sent } = fakeHost({
      "query-block": () => [
        { device: "disk0", qdev: "/machine/peripheral-anon/device[1]/virtio-backend", inserted: { file: "/other.img" } },
        { device: "disk1", qdev: "/machine/peripheral-anon/device[2]/virtio-backend", inserted: { file: img } },
      ],
    });
    await detachDisk(host, 3, disk("w"));
    expect(sent.slice(2)).toEqual([["device_del", { id: "/machine/peripheral-anon/device[2]" }]]);
  });

  it("fails a detach the guest does not complete, and says why; no blockdev-del", async () => {
    const { host, sent } = fakeHost({
      "query-block": () => [{ device: "", qdev: "/machine/peripheral/xvm-vbd-51728/virtio-backend", inserted: { file: img } }],
    }, { eject: false });
    await expect(detachDisk(host, 3, disk("w"))).rejects.toThrow("Domain '3' is not answering; cannot detach disk xvdb (the guest did not release it within 0.2 s");
    expect(sent.map(([c]) => c)).toEqual(["query-block", "query-status", "device_del"]);
  });

  it("refuses at once to detach from a paused guest (it cannot eject)", async () => {
    const { host, sent } = fakeHost({
      "query-block": () => [{ device: "", qdev: "/machine/peripheral/xvm-vbd-51728/virtio-backend", inserted: { file: img } }],
      "query-status": () => ({ status: "paused", running: false }),
    });
    await expect(detachDisk(host, 3, disk("w"))).rejects.toThrow("Domain '3' is paused; cannot detach disk xvdb (the guest must eject it: unpause it first).");
    expect(sent.map(([c]) => c)).toEqual(["query-block", "query-status"]);
  });

  it("takes a disk QEMU no longer has (a late eject) as detached, dropping a node left behind", async () => {
    const { host, sent } = fakeHost({ "query-block": () => [] });
    await detachDisk(host, 3, disk("w"));
    expect(sent).toEqual([["query-block", undefined], ["blockdev-del", { "node-name": "xvm-disk-51728" }]]);
  });

  it("finds a booted vif by its MAC, unplugs it and drops its netdev", async () => {
    const { host, sent } = fakeHost({
      "qom-list": (a) => (a?.path === "/machine/peripheral" ? [] : [{ name: "device[0]", type: "child<virtio-blk-pci>" }, { name: "device[3]", type: "child<virtio-net-pci>" }]),
      "qom-get": (a) => ({ mac: "00:16:3e:00:00:12", netdev: "net0", addr: 0x18 << 3 })[String(a?.property)],
    });
    await detachVif(host, 3, { index: 0, mac: "00:16:3E:00:00:12" });
    expect(sent.filter(([c]) => c !== "qom-list" && c !== "qom-get" && c !== "query-status")).toEqual([
      ["device_del", { id: "/machine/peripheral-anon/device[3]" }], ["netdev_del", { id: "net0" }],
    ]);
  });

  it("refuses to detach a NIC that has later ones (their slots follow their indexes)", async () => {
    const macs: Record<string, string> = { "device[3]": "00:16:3e:00:00:12", "device[4]": "00:16:3e:00:00:13" };
    const { host, sent } = fakeHost({
      "qom-list": (a) => (a?.path === "/machine/peripheral" ? [] : [{ name: "device[3]", type: "child<virtio-net-pci>" }, { name: "device[4]", type: "child<virtio-net-pci>" }]),
      "qom-get": (a) => {
        const name = String(a?.path).split("/").pop()!;
        return a?.property === "mac" ? macs[name] : (name === "device[3]" ? 0x18 : 0x19) << 3;
      },
    });
    await expect(detachVif(host, 3, { index: 0, mac: "00:16:3e:00:00:12" })).rejects.toThrow("only the last network interface can be detached (vif 0 has later ones");
    expect(sent.some(([c]) => c === "device_del")).toBe(false);
  });

  it("refuses a vifname that is not an interface name before making anything", async () => {
    const { host, sent } = fakeHost();
    await expect(attachVif(host, 3, { index: 1, mac: "00:16:3e:00:00:13", vifname: "x".repeat(16) })).rejects.toThrow("is not a valid interface name");
    expect(sent).toEqual([]);
  });
});

describe("fixed PCI slots", () => {
  it("disks by letter (whole disks a..p), vifs by index (0..7); others have none", () => {
    expect([diskSlot("xvda"), diskSlot("hdb"), diskSlot("sdp"), diskSlot("xvdq"), diskSlot("sda1"), diskSlot("hdc:cdrom")]).toEqual([0x08, 0x09, 0x17, undefined, undefined, undefined]);
    expect([vifSlot(0), vifSlot(7), vifSlot(8)]).toEqual([0x18, 0x1f, undefined]);
  });
});
