/**
 * Virtual block devices as configs name them (`'file:/xen/web1.img,xvda,w'`,
 * `'phy:/dev/vg0/web1,xvdb,r'`, `'phy:sda7,sda1,w'`): their parts, the device number Xen gave the
 * front end (xvda = 51712, hda = 768, sda = 2048, …, as xm block-list shows it), and the check
 * made before a domain starts: a backing file or device that does not exist is an error naming it,
 * as a failed vbd hotplug was on xVM.
 */
import { statSync } from "node:fs";
import { XvmError } from "../errors.ts";

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

/** Xen's vbd number for a front-end name (blkif's `blkif_name_to_number`), -1 when unknown. */
export function vbdNumber(vdev: string): number {
  const name = vdev.replace(/^ioemu:/, "").replace(/:(cdrom|disk)$/, "");
  if (/^\d+$/.test(name)) return Number(name);
  const m = /^(xvd|hd|sd)([a-z]+)(\d*)$/.exec(name);
  if (!m) return -1;
  const letters = m[2]!;
  let disk = 0;
  for (const c of letters) disk = disk * 26 + (c.charCodeAt(0) - 96);
  disk -= 1;
  const part = m[3] ? Number(m[3]) : 0;
  if (m[1] === "xvd") return disk < 16 ? (202 << 8) | (disk << 4) | part : (1 << 28) | (disk << 8) | part;
  if (m[1] === "sd") {
    const majors = [8, 65, 66, 67, 68, 69, 70, 71];
    const major = majors[disk >> 4];
    return major === undefined ? -1 : (major << 8) | ((disk & 15) << 4) | part;
  }
  const hdMajors = [3, 22, 33, 34, 56, 57, 88, 89, 90, 91];
  const major = hdMajors[disk >> 1];
  return major === undefined ? -1 : (major << 8) | ((disk & 1) << 6) | part;
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
        detail: `Domain '${name}': ${attaching ? "disk" : `disk[${i}]`} '${spec}': ${d.type === "phy" ? "device" : "file"} ${d.path} does not exist (the vbd for ${d.vdev} could not be connected)`,
      });
    }
  });
}
