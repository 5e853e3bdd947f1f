/**
 * Device hot-plug on a running QEMU guest (xm block-attach / block-detach / network-attach /
 * network-detach through HypervisorDriver attachDisk, detachDisk, attachVif, detachVif), over QMP:
 *
 * - disk: `blockdev-add` (a raw node over the file or host device, read-only for mode `r`) and
 *   `device_add virtio-blk-pci`; detach: `device_del`, wait for DEVICE_DELETED (the guest ejects
 *   the device through ACPI PCI hot-plug), then `blockdev-del`. A disk the guest booted with
 *   (`-drive if=none` + an anonymous virtio-blk-pci) is found by its file in `query-block` and unplugged by its
 *   QOM path; QEMU drops its -drive backend with the device.
 * - vif: a tap (taps.ts, owned by config/qemu-user) + `netdev_add tap` + `device_add
 *   virtio-net-pci`; detach: `device_del`, DEVICE_DELETED, `netdev_del`, the tap removed. A vif the
 *   guest booted with is found by its MAC among the anonymous devices.
 *
 * QEMU opens the disk itself, by path, as the user it runs as (config/qemu-user): xend cannot hand
 * it a descriptor at run time (that needs SCM_RIGHTS on the QMP socket, which Node does not do),
 * so a disk must be readable (and writable, mode w) by that user, as the disks of `xm create` are.
 * QEMU's own error (`Could not open '…': Permission denied`) is passed on, naming the file. The
 * seccomp sandbox (spawn=deny) does not stop QEMU opening files or taps.
 */
import { existsSync, statSync } from "node:fs";
import { XvmError, errorMessage } from "../../errors.ts";
import type { GuestDisk, GuestVif } from "../driver.ts";
import type { Tap } from "./command-line.ts";
import { diskSlot, pciAddr, vifSlot } from "./pci-slots.ts";
import type { QmpEvent } from "./qmp.ts";
import { createTaps, removeTaps } from "./taps.ts";

/** What hot-plug needs of the driver (QemuDriver implements it). */
export interface HotplugHost {
  readonly user?: { uid: number; gid: number };
  command<T = unknown>(domid: number, command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  watchEvents(domid: number, listener: (event: QmpEvent) => void): () => void;
  /** The guest's taps as guest.json keeps them (destroy removes them), and a change to them. */
  taps(domid: number): Tap[];
  setTaps(domid: number, change: (taps: Tap[]) => Tap[]): void;
  /** Overrides {@link UNPLUG_TIMEOUT_MS} (tests). */
  unplugTimeoutMs?: number;
}

/** How long the guest has to answer an unplug request (ACPI eject) before detach gives up. */
export const UNPLUG_TIMEOUT_MS = 30_000;

const diskNode = (devid: number) => `xvm-disk-${devid}`;
const diskDevice = (devid: number) => `xvm-vbd-${devid}`;
const macHex = (mac: string) => mac.toLowerCase().replace(/:/g, "");
const vifDevice = (mac: string) => `xvm-vif-${macHex(mac)}`;
const vifNetdev = (mac: string) => `xvm-net-${macHex(mac)}`;

function refuse(domid: number, detail: string): never {
  throw new XvmError("DOMAIN_CONFIG", { detail: `domain ${domid}: ${detail}` });
}

async function quietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // best effort: undoing a half-done attach
  }
}

export async function attachDisk(host: HotplugHost, domid: number, disk: GuestDisk): Promise<void> {
  if (disk.vdev.endsWith(":cdrom")) refuse(domid, `${disk.vdev}: a CD-ROM cannot be hot-plugged on the qemu hypervisor (give it in the config)`);
  if (!["file", "phy", "tap", "tap:aio", "aio"].includes(disk.type)) refuse(domid, `disk type '${disk.type}' is not supported (use file: or phy:)`);
  if (!disk.path.startsWith("/")) refuse(domid, `disk ${disk.vdev}: the path '${disk.path}' must be absolute`);
  let blockDevice: boolean;
  try {
    blockDevice = statSync(disk.path).isBlockDevice();
  } catch (error) {
    refuse(domid, `disk ${disk.vdev}: ${disk.path}: ${errorMessage(error)}`);
  }
  const readOnly = disk.mode === "r";
  const node = diskNode(disk.devid);
  const add = async () => {
    await host.command(domid, "blockdev-add", {
      "node-name": node, driver: "raw", "read-only": readOnly,
      file: { driver: blockDevice ? "host_device" : "file", filename: disk.path, "read-only": readOnly },
    });
  };
  try {
    await add();
  } catch (error) {
    // A node left by a detach the guest never completed: drop it if nothing uses it, then retry once.
    if (!/duplicate|already/i.test(errorMessage(error))) throw diskError(host, domid, disk, error);
    await quietly(host.command(domid, "blockdev-del", { "node-name": node }));
    try {
      await add();
    } catch (again) {
      throw diskError(host, domid, disk, again);
    }
  }
  try {
    // The disk's fixed slot (pci-slots.ts): where a restore or migration's QEMU will have it too.
    const slot = diskSlot(disk.vdev);
    await host.command(domid, "device_add", { driver: "virtio-blk-pci", id: diskDevice(disk.devid), drive: node, ...(slot !== undefined ? { addr: pciAddr(slot) } : {}) });
  } catch (error) {
    await quietly(host.command(domid, "blockdev-del", { "node-name": node }));
    throw error;
  }
}

function diskError(host: HotplugHost, domid: number, disk: GuestDisk, error: unknown): XvmError {
  const who = host.user ? ` (QEMU runs as uid ${host.user.uid}, config/qemu-user: the file must be ${disk.mode === "r" ? "readable" : "readable and writable"} by it)` : "";
  return new XvmError("DOMAIN_CONFIG", { detail: `domain ${domid}: disk ${disk.vdev}: QEMU cannot use ${disk.path}: ${errorMessage(error)}${who}` });
}

interface BlockInfo {
  device: string;
  qdev?: string;
  inserted?: { "node-name"?: string; file?: string };
}

/** The QOM path of a disk's virtio-blk-pci device, and whether it was hot-plugged (its node is ours). */
async function findDisk(host: HotplugHost, domid: number, disk: GuestDisk): Promise<{ path: string; hotplugged: boolean } | undefined> {
  const blocks = await host.command<BlockInfo[]>(domid, "query-block");
  const ours = `/machine/peripheral/${diskDevice(disk.devid)}/`;
  const hot = blocks.find((b) => b.qdev?.startsWith(ours));
  if (hot) return { path: ours.slice(0, -1), hotplugged: true };
  const booted = blocks.find((b) => b.qdev?.startsWith("/machine/peripheral-anon/") && b.qdev.endsWith("/virtio-backend") && b.inserted?.file === disk.path);
  return booted ? { path: booted.qdev!.slice(0, -"/virtio-backend".length), hotplugged: false } : undefined;
}

/**
 * device_del, and the wait for QEMU's DEVICE_DELETED of that device (the guest released it). A
 * paused guest cannot eject anything: refused at once rather than after the timeout.
 */
async function unplug(host: HotplugHost, domid: number, path: string, what: string): Promise<void> {
  const status = await host.command<{ status?: string }>(domid, "query-status");
  if (status?.status !== undefined && status.status !== "running") {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: domid, state: status.status, action: `detach ${what} (the guest must eject it: unpause it first)` });
  }
  let done!: () => void;
  const deleted = new Promise<void>((resolve) => (done = resolve));
  const stop = host.watchEvents(domid, (event) => {
    if (event.event === "DEVICE_DELETED" && (event.data?.path === path || `/machine/peripheral/${String(event.data?.device)}` === path)) done();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limitMs = host.unplugTimeoutMs ?? UNPLUG_TIMEOUT_MS;
  try {
    await host.command(domid, "device_del", { id: path });
    await Promise.race([
      deleted,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new XvmError("DOMAIN_BAD_STATE", {
          dom: domid, state: "not answering", action: `detach ${what} (the guest did not release it within ${limitMs / 1000} s: a running Linux guest ejects it through ACPI PCI hot-plug; a paused one does so once unpaused)`,
        })), limitMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    stop();
  }
}

/**
 * A disk QEMU no longer has (a detach that timed out and that the guest completed later) is
 * already detached: its node, if one is left, is dropped and the detach succeeds, so the config
 * can follow.
 */
export async function detachDisk(host: HotplugHost, domid: number, disk: GuestDisk): Promise<void> {
  const found = await findDisk(host, domid, disk);
  if (!found) {
    await quietly(host.command(domid, "blockdev-del", { "node-name": diskNode(disk.devid) }));
    return;
  }
  await unplug(host, domid, found.path, `disk ${disk.vdev}`);
  if (found.hotplugged) await host.command(domid, "blockdev-del", { "node-name": diskNode(disk.devid) });
}

/** A tap name for a vif: its vifname, else vif<domid>.<n> with the first n from its index that is free. */
function tapName(host: HotplugHost, domid: number, vif: GuestVif): string {
  if (vif.vifname) return vif.vifname;
  const used = new Set(host.taps(domid).map((t) => t.ifname));
  for (let n = vif.index; ; n++) {
    const name = `vif${domid}.${n}`;
    if (!used.has(name) && !existsSync(`/sys/class/net/${name}`)) return name;
  }
}

export async function attachVif(host: HotplugHost, domid: number, vif: GuestVif): Promise<void> {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(vif.mac)) refuse(domid, `vif: MAC '${vif.mac}' is not valid`);
  const ifname = tapName(host, domid, vif);
  if (ifname.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(ifname)) refuse(domid, `vifname '${ifname}' is not a valid interface name (at most 15 letters, digits, _ . -)`);
  const tap: Tap = { ifname, mac: vif.mac, ...(vif.bridge !== undefined ? { bridge: vif.bridge } : {}) };
  try {
    await createTaps([tap], host.user);
  } catch (error) {
    refuse(domid, `cannot create the network device ${ifname}: ${errorMessage(error)}`);
  }
  host.setTaps(domid, (taps) => [...taps, tap]);
  const netdev = vifNetdev(vif.mac);
  try {
    await host.command(domid, "netdev_add", { type: "tap", id: netdev, ifname, script: "no", downscript: "no" });
    try {
      const slot = vifSlot(vif.index);
      await host.command(domid, "device_add", { driver: "virtio-net-pci", id: vifDevice(vif.mac), netdev, mac: vif.mac.toLowerCase(), ...(slot !== undefined ? { addr: pciAddr(slot) } : {}) });
    } catch (error) {
      await quietly(host.command(domid, "netdev_del", { id: netdev }));
      throw error;
    }
  } catch (error) {
    await quietly(removeTaps([tap]));
    host.setTaps(domid, (taps) => taps.filter((t) => t !== tap && t.ifname !== ifname));
    throw error;
  }
}

interface QomProperty {
  name: string;
  type: string;
}

interface Nic {
  path: string;
  mac: string;
  /** PCI device/function number (slot << 3 | function). */
  devfn: number;
}

/** The guest's virtio-net-pci devices. */
async function nics(host: HotplugHost, domid: number): Promise<Nic[]> {
  const out: Nic[] = [];
  for (const parent of ["/machine/peripheral", "/machine/peripheral-anon"]) {
    const children = await host.command<QomProperty[]>(domid, "qom-list", { path: parent });
    for (const child of children) {
      if (child.type !== "child<virtio-net-pci>") continue;
      const path = `${parent}/${child.name}`;
      const mac = String(await host.command(domid, "qom-get", { path, property: "mac" })).toLowerCase();
      out.push({ path, mac, devfn: Number(await host.command(domid, "qom-get", { path, property: "addr" })) });
    }
  }
  return out;
}

/**
 * As {@link detachDisk}: a vif QEMU no longer has is already detached (its netdev and tap go).
 * Only the last NIC may go: a vif's slot follows its index in the config (pci-slots.ts), and the
 * later vifs move up one in the config when one before them is removed, which their slots cannot.
 */
export async function detachVif(host: HotplugHost, domid: number, vif: GuestVif): Promise<void> {
  const all = await nics(host, domid);
  const found = all.find((n) => n.mac === vif.mac.toLowerCase());
  if (found && all.some((n) => n.devfn > found.devfn)) {
    throw new XvmError("DOMAIN_CONFIG", {
      detail: `domain ${domid}: on the qemu hypervisor only the last network interface can be detached (vif ${vif.index} has later ones: each keeps the PCI slot of its index, which a save or a migration must find again); detach the later ones first`,
    });
  }
  let netdev = vifNetdev(vif.mac);
  if (found) {
    netdev = String(await host.command(domid, "qom-get", { path: found.path, property: "netdev" })) || netdev;
    await unplug(host, domid, found.path, `vif ${vif.index} (${vif.mac})`);
  }
  await quietly(host.command(domid, "netdev_del", { id: netdev }));
  const taps = host.taps(domid).filter((t) => t.mac.toLowerCase() === vif.mac.toLowerCase());
  await removeTaps(taps);
  host.setTaps(domid, (all) => all.filter((t) => !taps.includes(t) && !taps.some((x) => x.ifname === t.ifname)));
}
