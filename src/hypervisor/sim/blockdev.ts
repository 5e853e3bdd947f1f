/**
 * The simulated guest's virtual block devices: a small blkif. The runner's main thread is the
 * back end: it opens each disk's backing file or device (read-only for mode `r`, so the host
 * itself refuses a write the check below would miss) and publishes it in a device table on a
 * SharedArrayBuffer. The vCPU threads are the front end: a guest program finds its disk there by
 * Xen's device number and reads and writes 512-byte sectors between the file and guest memory
 * with positioned reads and writes on the back end's descriptor (descriptors are the process's,
 * shared by every thread).
 *
 * Requests never race with a detach: the back end only changes or closes a slot with the vCPUs
 * parked (SimGuest.withVcpusStopped), and a program step never spans a park.
 *
 * Table layout (Int32 words): word 0 = attach generation counter; then {@link MAX_DISKS} slots
 * of {@link SLOT_WORDS} words (state, devid, fd, writable, generation, sectors low/high). Then, as
 * BigInt64 per slot: read requests, write requests, sectors read, sectors written, refused
 * requests (xm top's VBD_RD / VBD_WR / VBD_OO).
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { XvmError } from "../../errors.ts";
import type { GuestDisk } from "../driver.ts";

export const SECTOR_SIZE = 512;
export const MAX_DISKS = 16;

const HEADER_WORDS = 4;
const SLOT_WORDS = 8;
const W = { STATE: 0, DEVID: 1, FD: 2, WRITABLE: 3, GEN: 4, SECTORS_LO: 5, SECTORS_HI: 6 } as const;
const STAT_FIELDS = 5;
const ST = { RD_REQ: 0, WR_REQ: 1, RD_SECT: 2, WR_SECT: 3, REFUSED: 4 } as const;
const INT_BYTES = (HEADER_WORDS + MAX_DISKS * SLOT_WORDS) * 4;
const STATS_OFFSET = Math.ceil(INT_BYTES / 8) * 8;
const TABLE_BYTES = STATS_OFFSET + MAX_DISKS * STAT_FIELDS * 8;

/** Errors a request can end with (Linux errno names, as a guest's block layer reports them). */
export const BlockError = { OK: 0, ENODEV: 19, EROFS: 30, EINVAL: 22, EIO: 5 } as const;

export function blockErrorName(code: number): string {
  switch (code) {
    case BlockError.ENODEV:
      return "no such device (ENODEV)";
    case BlockError.EROFS:
      return "read-only device (EROFS)";
    case BlockError.EINVAL:
      return "beyond the end of the device (EINVAL)";
    default:
      return `I/O error (EIO)`;
  }
}

export interface BlockDeviceInfo {
  devid: number;
  writable: boolean;
  sectors: number;
  readRequests: number;
  writeRequests: number;
  sectorsRead: number;
  sectorsWritten: number;
  refused: number;
}

export function allocateBlockTable(): SharedArrayBuffer {
  return new SharedArrayBuffer(TABLE_BYTES);
}

/** Size in bytes of an open regular file or block device. */
function sizeOf(fd: number, path: string): number {
  const st = fstatSync(fd);
  if (st.isFile()) return st.size;
  if (st.isBlockDevice()) {
    // fstat gives no size for a block device: sysfs has it in 512-byte units.
    const major = Math.floor(st.rdev / 256) & 0xfff;
    const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00);
    try {
      return Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, "utf8").trim()) * SECTOR_SIZE;
    } catch {
      return 0;
    }
  }
  // A character device (phy:/dev/null) is a disk of no sectors: every request is beyond its end.
  if (st.isCharacterDevice()) return 0;
  throw new XvmError("DOMAIN_CONFIG", { detail: `${path} is neither a file nor a device` });
}

export class BlockDevices {
  private readonly words: Int32Array;
  private readonly stats: BigInt64Array;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer, 0, HEADER_WORDS + MAX_DISKS * SLOT_WORDS);
    this.stats = new BigInt64Array(buffer, STATS_OFFSET, MAX_DISKS * STAT_FIELDS);
  }

  private w(slot: number, field: number): number {
    return HEADER_WORDS + slot * SLOT_WORDS + field;
  }

  private get(slot: number, field: number): number {
    return Atomics.load(this.words, this.w(slot, field));
  }

  private count(slot: number, field: number, n: number): void {
    Atomics.add(this.stats, slot * STAT_FIELDS + field, BigInt(n));
  }

  // ---- back end (runner main thread, vCPUs parked) ------------------------------------------

  /** Opens the backing of `disk` and publishes it; throws DOMAIN_CONFIG naming what failed. */
  attach(disk: GuestDisk): void {
    if (this.find(disk.devid) >= 0) throw new XvmError("DOMAIN_CONFIG", { detail: `the guest already has a disk at ${disk.vdev} (device ${disk.devid})` });
    let slot = -1;
    for (let s = 0; s < MAX_DISKS && slot < 0; s++) if (this.get(s, W.STATE) === 0) slot = s;
    if (slot < 0) throw new XvmError("DOMAIN_CONFIG", { detail: `a simulated guest has at most ${MAX_DISKS} disks` });
    const writable = disk.mode !== "r";
    let fd: number;
    try {
      fd = openSync(disk.path, (writable ? constants.O_RDWR : constants.O_RDONLY));
    } catch (error) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `disk ${disk.vdev}: cannot open ${disk.path}: ${(error as Error).message}` });
    }
    let sectors: number;
    try {
      sectors = Math.floor(sizeOf(fd, disk.path) / SECTOR_SIZE);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    const gen = Atomics.add(this.words, 0, 1) + 1;
    const set = (field: number, value: number) => Atomics.store(this.words, this.w(slot, field), value);
    set(W.DEVID, disk.devid);
    set(W.FD, fd);
    set(W.WRITABLE, writable ? 1 : 0);
    set(W.GEN, gen);
    set(W.SECTORS_LO, sectors % 2 ** 31);
    set(W.SECTORS_HI, Math.floor(sectors / 2 ** 31));
    for (let f = 0; f < STAT_FIELDS; f++) Atomics.store(this.stats, slot * STAT_FIELDS + f, 0n);
    set(W.STATE, 1);
  }

  /** Unpublishes the device and closes its backing; false when there is none. */
  detach(devid: number): boolean {
    const slot = this.find(devid);
    if (slot < 0) return false;
    Atomics.store(this.words, this.w(slot, W.STATE), 0);
    closeSync(this.get(slot, W.FD));
    return true;
  }

  detachAll(): void {
    for (let s = 0; s < MAX_DISKS; s++) if (this.get(s, W.STATE) === 1) this.detach(this.get(s, W.DEVID));
  }

  list(): BlockDeviceInfo[] {
    const out: BlockDeviceInfo[] = [];
    for (let s = 0; s < MAX_DISKS; s++) {
      if (this.get(s, W.STATE) !== 1) continue;
      const stat = (f: number) => Number(Atomics.load(this.stats, s * STAT_FIELDS + f));
      out.push({
        devid: this.get(s, W.DEVID), writable: this.get(s, W.WRITABLE) === 1, sectors: this.sectors(s),
        readRequests: stat(ST.RD_REQ), writeRequests: stat(ST.WR_REQ), sectorsRead: stat(ST.RD_SECT), sectorsWritten: stat(ST.WR_SECT), refused: stat(ST.REFUSED),
      });
    }
    return out;
  }

  // ---- front end (vCPU threads) ---------------------------------------------------------------

  /** The slot of device `devid`, or -1. */
  find(devid: number): number {
    for (let s = 0; s < MAX_DISKS; s++) if (this.get(s, W.STATE) === 1 && this.get(s, W.DEVID) === devid) return s;
    return -1;
  }

  /** Changes each time a device is attached at this slot: a program sees a new disk by it. */
  generation(slot: number): number {
    return this.get(slot, W.GEN);
  }

  sectors(slot: number): number {
    return this.get(slot, W.SECTORS_HI) * 2 ** 31 + this.get(slot, W.SECTORS_LO);
  }

  writable(slot: number): boolean {
    return this.get(slot, W.WRITABLE) === 1;
  }

  private check(slot: number, sector: number, bytes: number): number {
    if (slot < 0 || slot >= MAX_DISKS || this.get(slot, W.STATE) !== 1) return BlockError.ENODEV;
    if (bytes % SECTOR_SIZE !== 0 || !Number.isInteger(sector) || sector < 0 || sector + bytes / SECTOR_SIZE > this.sectors(slot)) return BlockError.EINVAL;
    return BlockError.OK;
  }

  /** Reads sectors into `into` (a view of guest memory); returns a {@link BlockError} code. */
  read(slot: number, sector: number, into: Uint8Array): number {
    const bad = this.check(slot, sector, into.byteLength);
    if (bad) return this.refused(slot, bad);
    try {
      let done = 0;
      while (done < into.byteLength) {
        const n = readSync(this.get(slot, W.FD), into, done, into.byteLength - done, sector * SECTOR_SIZE + done);
        if (n === 0) into.fill(0, done);
        done = n === 0 ? into.byteLength : done + n;
      }
    } catch {
      return this.refused(slot, BlockError.EIO);
    }
    this.count(slot, ST.RD_REQ, 1);
    this.count(slot, ST.RD_SECT, into.byteLength / SECTOR_SIZE);
    return BlockError.OK;
  }

  /** Writes sectors from `from` (a view of guest memory); a read-only device refuses with EROFS. */
  write(slot: number, sector: number, from: Uint8Array): number {
    const bad = this.check(slot, sector, from.byteLength);
    if (bad) return this.refused(slot, bad);
    if (!this.writable(slot)) return this.refused(slot, BlockError.EROFS);
    try {
      let done = 0;
      while (done < from.byteLength) done += writeSync(this.get(slot, W.FD), from, done, from.byteLength - done, sector * SECTOR_SIZE + done);
    } catch (error) {
      return this.refused(slot, (error as NodeJS.ErrnoException).code === "EBADF" ? BlockError.EROFS : BlockError.EIO);
    }
    this.count(slot, ST.WR_REQ, 1);
    this.count(slot, ST.WR_SECT, from.byteLength / SECTOR_SIZE);
    return BlockError.OK;
  }

  private refused(slot: number, code: number): number {
    if (slot >= 0 && slot < MAX_DISKS) this.count(slot, ST.REFUSED, 1);
    return code;
  }
}
