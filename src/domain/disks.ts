/**
 * Virtual block devices as configs name them (`'file:/xen/web1.img,xvda,w'`,
 * `'phy:/dev/vg0/web1,xvdb,r'`, `'phy:sda7,sda1,w'`): their parts, the device number Xen gave the
 * front end (xvda = 51712, hda = 768, sda = 2048, …, as xm block-list shows it), and the check
 * made before a domain starts: a backing file or device that does not exist is an error naming it,
 * as a failed vbd hotplug was on xVM.
 */
import { statSync } from "node:fs";
import { XvmError } from "../errors.ts";
import { vbdNumber } from "../formats/vbd.ts";
import type { GuestDisk, GuestVif } from "../hypervisor/driver.ts";
import type { VifConfig } from "./types.ts";
import { shown } from "./config-spec.ts";

export { vbdNumber };

export interface DiskSpec {
  /** `file`, `phy`, `tap:aio`, … (the part before the path). */
  type: string;
  /** Backing path as written in the config. */
  target: string;
  /** The host path it names: `phy:sda7` is /dev/sda7. */
  path: string;
  /** Front-end name as written (`xvda`, `ioemu:hda`, `hdc:cdrom`, `0`). */
  vdev: string;
  mode: string;
  /** Xen's device number of the front end. */
  devid: number;
}

export function parseDiskSpec(spec: string): DiskSpec {
  const [backend = "", vdev = "", mode = ""] = spec.split(",").map((p) => p.trim());
  const colon = backend.lastIndexOf(":");
  const type = colon > 0 ? backend.slice(0, colon) : "phy";
  const target = colon > 0 ? backend.slice(colon + 1) : backend;
  const path = type === "phy" && !target.startsWith("/") ? `/dev/${target}` : target;
  return { type, target, path, vdev, mode, devid: vbdNumber(vdev) };
}

/** Throws DOMAIN_CONFIG naming the first disk whose backing file or device is missing. */
export function checkDiskBacking(name: string, disks: readonly string[], attaching = false): void {
  disks.forEach((spec, i) => {
    const d = parseDiskSpec(spec);
    let ok = false;
    try {
      const st = statSync(d.path);
      ok = d.type === "phy" ? st.isBlockDevice() || st.isCharacterDevice() || st.isFile() : st.isFile() || st.isBlockDevice();
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new XvmError("DOMAIN_CONFIG", {
        // A config's strings may hold control characters: quoted escaped (the message may be logged).
        detail: `Domain '${shown(name)}': ${attaching ? "disk" : `disk[${i}]`} '${shown(spec)}': ${d.type === "phy" ? "device" : "file"} ${shown(d.path)} does not exist (the vbd for ${shown(d.vdev)} could not be connected)`,
      });
    }
  });
}

/** A config's disk entry as the driver gets it (GuestSpec.disks, attachDisk). */
export function guestDisk(spec: string): GuestDisk {
  const d = parseDiskSpec(spec);
  return { devid: d.devid, vdev: d.vdev, type: d.type, path: d.path, mode: d.mode || "r" };
}

/** A config's vif (its MAC assigned) as the driver gets it (GuestSpec.vifs, attachVif). */
export function guestVif(vif: VifConfig, index: number): GuestVif {
  return { index, mac: vif.mac ?? "", ...(vif.bridge !== undefined ? { bridge: vif.bridge } : {}), ...(vif.vifname !== undefined ? { vifname: vif.vifname } : {}) };
}
