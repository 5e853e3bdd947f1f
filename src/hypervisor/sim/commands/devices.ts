/**
 * The runner commands behind the sim driver's device hot-plug (HypervisorDriver attachDisk,
 * detachDisk, attachVif, detachVif): the runner opens or closes the backing (guest.ts, blockdev.ts)
 * and keeps the device list in spec.json, so a re-attaching driver and `lsblk` see it.
 */
import { XvmError } from "../../../errors.ts";
import type { GuestDisk, GuestVif } from "../../driver.ts";
import { arg, type RunnerCommand } from "../runner-command.ts";

function diskOf(args: Record<string, unknown>): GuestDisk {
  const d = arg.object(args, "disk", "attachDisk");
  const str = (k: string) => arg.string(d, k, "attachDisk");
  const disk: GuestDisk = { devid: arg.int(d, "devid", "attachDisk"), vdev: str("vdev"), type: str("type"), path: str("path"), mode: str("mode") };
  if (!disk.path.startsWith("/")) throw new XvmError("XVM_BAD_REQUEST", { detail: `attachDisk: path '${disk.path}' must be absolute` });
  if (!/^(r|w|w!)$/.test(disk.mode)) throw new XvmError("XVM_BAD_REQUEST", { detail: `attachDisk: mode '${disk.mode}' must be r, w or w!` });
  return disk;
}

function vifOf(args: Record<string, unknown>): GuestVif {
  const v = arg.object(args, "vif", "attachVif");
  const vif: GuestVif = { index: arg.int(v, "index", "attachVif"), mac: arg.string(v, "mac", "attachVif") };
  if (typeof v.bridge === "string") vif.bridge = v.bridge;
  if (typeof v.vifname === "string") vif.vifname = v.vifname;
  return vif;
}

export const commands: Record<string, RunnerCommand> = {
  attachDisk({ host, guest, args }) {
    guest.attachDisk(diskOf(args));
    host.saveSpec();
  },
  detachDisk({ host, guest, args }) {
    guest.detachDisk(arg.int(args, "devid", "detachDisk"));
    host.saveSpec();
  },
  attachVif({ host, guest, args }) {
    guest.attachVif(vifOf(args));
    host.saveSpec();
  },
  detachVif({ host, guest, args }) {
    guest.detachVif(arg.string(args, "mac", "detachVif"));
    host.saveSpec();
  },
  /** The disks as the guest sees them, with their request counters. */
  blockStats({ guest }) {
    return { result: guest.block.list() };
  },
};
