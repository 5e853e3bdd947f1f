/**
 * Xen's virtual block device numbers (blkif's `blkif_name_to_number`): the front-end names configs
 * and xm use (xvda, hdb, sdc1, or a number) to the number xm block-list shows and block-detach
 * takes. Shared by the domain manager (disks.ts) and the drivers (the sim guest finds its disk by
 * it), which must not import each other.
 */

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
