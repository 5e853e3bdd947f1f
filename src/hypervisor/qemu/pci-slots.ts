/**
 * Fixed PCI slots for a guest's virtio disks and NICs on the pc machine's root bus. QEMU puts a
 * device without an address in the first free slot, so a guest whose devices were hot-plugged and
 * detached has them in slots a fresh QEMU started from its config would not choose, and a save
 * file or a migration stream (whose device sections are named by slot, `0000:00:04.0/virtio-blk`)
 * would not load there. With a slot that follows from the device itself, the command line of a
 * restore or a migration's destination (built from the config) and the hot-plugged source agree.
 *
 *   disks  0x08..0x17   by the front end's disk letter: xvda/hda/sda = 0x08 … xvdp/sdp = 0x17
 *   vifs   0x18..0x1f   by the vif's index in the config (vif 0 = 0x18 … vif 7 = 0x1f)
 *
 * Slots 0x02..0x07 stay for what QEMU places itself (the balloon, VGA). A disk named as a
 * partition (`sda1`, old PV configs) or past the 16th letter, or one whose letter another disk
 * already has (xvda and hda), gets no fixed slot (QEMU chooses, as before).
 */
export const DISK_SLOT_BASE = 0x08;
export const VIF_SLOT_BASE = 0x18;
const DISK_SLOTS = 16;
const VIF_SLOTS = 8;

/** The fixed slot of a disk by its front-end name, or undefined. */
export function diskSlot(vdev: string): number | undefined {
  const m = /^(?:ioemu:)?(xvd|hd|sd)([a-z])$/.exec(vdev.replace(/:disk$/, ""));
  if (!m) return undefined;
  const index = m[2]!.charCodeAt(0) - 97;
  return index < DISK_SLOTS ? DISK_SLOT_BASE + index : undefined;
}

/** The fixed slot of the vif at `index` in the config, or undefined. */
export function vifSlot(index: number): number | undefined {
  return Number.isInteger(index) && index >= 0 && index < VIF_SLOTS ? VIF_SLOT_BASE + index : undefined;
}

/** QEMU's `addr` property value for a slot (function 0). */
export function pciAddr(slot: number): string {
  return `${slot.toString(16)}.0`;
}
