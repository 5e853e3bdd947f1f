import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BlockDevices, BlockError, allocateBlockTable } from "../../src/hypervisor/sim/blockdev.ts";
import { Control, G, allocateControl } from "../../src/hypervisor/sim/control.ts";
import { GuestMemory, PAGE_SIZE } from "../../src/hypervisor/sim/memory.ts";
import { checkProgram, diskSector, parseDiskParams, programFor, type ProgramContext } from "../../src/hypervisor/sim/programs.ts";
import { XvmError } from "../../src/errors.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-blockdev-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(name: string, bytes = 8192): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.alloc(bytes));
  return path;
}

const disk = (path: string, vdev: string, devid: number, mode: string) => ({ devid, vdev, type: "file", path, mode });

describe("sim block devices", () => {
  it("reads and writes sectors of the backing file; refuses writes to a read-only disk and requests past the end", () => {
    const block = new BlockDevices(allocateBlockTable());
    const rw = image("rw.img");
    const ro = image("ro.img");
    block.attach(disk(rw, "xvda", 51712, "w"));
    block.attach(disk(ro, "xvdb", 51728, "r"));
    const a = block.find(51712);
    const b = block.find(51728);
    expect([a >= 0, b >= 0, block.find(51744)]).toEqual([true, true, -1]);
    expect(block.sectors(a)).toBe(16);
    const data = Buffer.alloc(1024, 0x41);
    expect(block.write(a, 3, data)).toBe(BlockError.OK);
    expect(readFileSync(rw).subarray(1536, 2560).equals(data)).toBe(true);
    const back = new Uint8Array(1024);
    expect(block.read(a, 3, back)).toBe(BlockError.OK);
    expect(Buffer.from(back).equals(data)).toBe(true);
    expect(block.write(b, 0, data)).toBe(BlockError.EROFS);
    expect(readFileSync(ro).every((x) => x === 0)).toBe(true);
    expect(block.write(a, 15, data)).toBe(BlockError.EINVAL);
    expect(block.write(a, 0, new Uint8Array(100))).toBe(BlockError.EINVAL);
    expect(block.list().map((d) => [d.devid, d.writable, d.writeRequests, d.sectorsWritten, d.sectorsRead, d.refused])).toEqual([
      [51712, true, 1, 2, 2, 2], [51728, false, 0, 0, 0, 1],
    ]);
    expect(() => block.attach(disk(rw, "xvda", 51712, "w"))).toThrow(/already has a disk at xvda/);
    expect(() => block.attach(disk(join(dir, "nope.img"), "xvdc", 51744, "w"))).toThrow(/disk xvdc: cannot open .*nope\.img/);
    expect(block.detach(51712)).toBe(true);
    expect(block.detach(51712)).toBe(false);
    expect(block.write(a, 0, data)).toBe(BlockError.ENODEV);
    block.detachAll();
    expect(block.list()).toEqual([]);
  });

  it("a re-attached disk gets a new generation (sim:disk writes it again)", () => {
    const block = new BlockDevices(allocateBlockTable());
    const path = image("gen.img");
    block.attach(disk(path, "xvda", 51712, "w"));
    const first = block.generation(block.find(51712));
    block.detach(51712);
    block.attach(disk(path, "xvda", 51712, "w"));
    expect(block.generation(block.find(51712))).toBeGreaterThan(first);
    block.detachAll();
  });
});

describe("sim:disk", () => {
  it("parses disk=, sector=, count= and refuses bad ones", () => {
    expect(parseDiskParams("")).toEqual({ vdev: "xvda", devid: 51712, sector: 0, count: 8 });
    expect(parseDiskParams("quiet disk=xvdb sector=7 count=3")).toEqual({ vdev: "xvdb", devid: 51728, sector: 7, count: 3 });
    expect(() => parseDiskParams("disk=floppy")).toThrow("extra: disk 'floppy' is not a virtual device name for sim:disk (use e.g. disk=xvdb sector=0 count=8)");
    expect(() => parseDiskParams("count=0")).toThrow(/bad count '0' \(1\.\.2048\)/);
    expect(() => parseDiskParams("sector=-1")).toThrow(XvmError);
    expect(() => checkProgram("sim:disk", "count=2048", 1024 * 1024)).toThrow(/needs more guest memory/);
  });

  it("writes its pattern once per attachment through guest memory, and reports a read-only disk", () => {
    const block = new BlockDevices(allocateBlockTable());
    const path = image("prog.img");
    const mem = GuestMemory.allocate(16);
    const ctl = new Control(allocateControl());
    ctl.set(G.TARGET_PAGES, 16);
    const out: string[] = [];
    const ctx: ProgramContext = { vcpu: 0, mem, ctl, console: (t) => out.push(t), shouldYield: () => false, block };
    const program = programFor("sim:disk", "disk=xvdb sector=1 count=2", 16 * PAGE_SIZE);
    program.step(ctx, 10_000);
    program.step(ctx, 10_000);
    expect(out).toEqual(["sim-disk: xvdb: waiting for the disk (xm block-attach)\n"]);
    block.attach(disk(path, "xvdb", 51728, "w"));
    program.step(ctx, 10_000);
    program.step(ctx, 10_000);
    expect(out.slice(1)).toEqual(["sim-disk: xvdb: pass 1: wrote 2 sectors at sector 1, read back identical\n"]);
    expect(readFileSync(path).subarray(512, 1536).toString("latin1")).toBe(diskSector("xvdb", 1, 1) + diskSector("xvdb", 2, 1));
    expect(diskSector("xvdb", 1, 1)).toMatch(/^xvm-sim disk xvdb sector 1 pass 1\.+\n$/);
    expect(diskSector("xvdb", 1, 1)).toHaveLength(512);
    // Staged in guest memory from page 1, as a driver's DMA would be.
    expect(Buffer.from(mem.bytes.subarray(PAGE_SIZE, PAGE_SIZE + 512)).toString("latin1")).toBe(diskSector("xvdb", 1, 1));
    block.detach(51728);
    block.attach(disk(path, "xvdb", 51728, "r"));
    program.step(ctx, 10_000);
    // Detached and attached again between two steps: the guest sees a new disk, read-only now.
    expect(out.slice(2)).toEqual(["sim-disk: xvdb: pass 2: write of 2 sectors at sector 1 (disk of 16 sectors) failed: read-only device (EROFS)\n"]);
    block.detachAll();
  });
});
