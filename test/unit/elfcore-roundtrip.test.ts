import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { XvmError } from "../../src/errors.ts";
import { type CoreImage, XVM_VCPU_MAX_REGS, coreLayout, writeXenCoreSync } from "../../src/formats/elfcore.ts";
import { XenCoreFile } from "../../src/formats/elfcore-read.ts";
import { pseudoRandom } from "../helpers/dump-double.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-elfcore-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PAGE = 4096;

function image(nrPages: number, zeroPages: Set<number>): CoreImage {
  const memory = new Uint8Array(new SharedArrayBuffer(nrPages * PAGE));
  pseudoRandom(memory, 12345);
  for (const p of zeroPages) memory.fill(0, p * PAGE, (p + 1) * PAGE);
  return {
    domid: 7,
    name: "web1",
    uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
    pageSize: PAGE,
    nrPages,
    memory,
    vcpus: [
      { number: 0, regs: { pc: "4096", sp: "18446744073709551615", counter: "42" } },
      { number: 1, regs: { pc: "0", flags: "-1" } },
      { number: 2, regs: {} },
    ],
    xenVersion: { major: 3, minor: 4, extra: ".0-xvm" },
  };
}

describe("Xen dump-core writer and reader", () => {
  // Zero pages at the start, in runs, alone and at the end: holes in every position.
  const zero = new Set([0, 1, 5, 6, 7, 8, 20, 63, 100, 254, 255]);
  const img = image(256, zero);
  const path = join(dir, "roundtrip.core");
  const progress: Array<[number, number]> = [];
  writeXenCoreSync(path, img, (done, total) => progress.push([done, total]));

  it("reads back the header notes, the domain and every page identically", () => {
    const core = XenCoreFile.open(path);
    try {
      expect(core.header).toEqual({
        format: "xen",
        magic: 0xf00febee, hvm: true, nrVcpus: 3, nrPages: 256, pageSize: PAGE,
        formatVersion: [0, 1], xenVersion: { major: 3, minor: 4, extra: ".0-xvm" },
      });
      expect(core.domain).toMatchObject({ domid: 7, name: "web1", uuid: img.uuid, prstatus: "xvm-vcpu-v1" });
      expect(core.pfns).toEqual(Array.from({ length: 256 }, (_, i) => i));
      for (let p = 0; p < 256; p++) {
        expect(Buffer.compare(core.readPage(p), Buffer.from(img.memory.buffer, p * PAGE, PAGE))).toBe(0);
      }
      expect(core.readPhys(PAGE - 4, 8)).toEqual(Buffer.from(img.memory.buffer, PAGE - 4, 8));
    } finally {
      core.close();
    }
  });

  it("keeps every vCPU's registers as 64-bit values", () => {
    const core = XenCoreFile.open(path);
    try {
      expect(core.vcpus).toEqual([
        { number: 0, regs: [["pc", 4096n], ["sp", 0xffffffffffffffffn], ["counter", 42n]] },
        { number: 1, regs: [["pc", 0n], ["flags", 0xffffffffffffffffn]] },
        { number: 2, regs: [] },
      ]);
    } finally {
      core.close();
    }
  });

  it("puts .xen_pages page-aligned, leaves zero pages as holes, and the bytes match the memory", () => {
    const l = coreLayout(img);
    expect(l.pagesOffset % PAGE).toBe(0);
    const st = statSync(path);
    expect(st.size).toBe(l.fileSize);
    const raw = readFileSync(path);
    expect(Buffer.compare(raw.subarray(l.pagesOffset, l.pagesOffset + l.pagesSize), Buffer.from(img.memory.buffer))).toBe(0);
    // 11 zero pages are not allocated (filesystems allocate at least in 4 KiB blocks).
    expect(st.blocks * 512).toBeLessThanOrEqual(st.size - 10 * PAGE + PAGE);
  });

  it("reports progress in bytes of guest memory, ending at the total", () => {
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toEqual([256 * PAGE, 256 * PAGE]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
  });

  it("writes an all-zero guest as a file that is nearly all hole and reads back zero", () => {
    const p = join(dir, "zero.core");
    const z = image(1024, new Set(Array.from({ length: 1024 }, (_, i) => i)));
    writeXenCoreSync(p, z);
    const st = statSync(p);
    expect(st.size).toBeGreaterThan(1024 * PAGE);
    expect(st.blocks * 512).toBeLessThan(64 * 1024);
    const core = XenCoreFile.open(p);
    try {
      expect(core.readPage(1023).every((b) => b === 0)).toBe(true);
    } finally {
      core.close();
    }
  });

  it("overwrites an existing longer file completely", () => {
    const p = join(dir, "over.core");
    writeFileSync(p, Buffer.alloc(4 << 20, 0xff));
    const small = image(16, new Set([3]));
    writeXenCoreSync(p, small);
    expect(statSync(p).size).toBe(coreLayout(small).fileSize);
    const core = XenCoreFile.open(p);
    try {
      expect(core.readPage(3).every((b) => b === 0)).toBe(true);
    } finally {
      core.close();
    }
  });

  it("cuts registers beyond the record's slots and long names instead of failing", () => {
    const p = join(dir, "regs.core");
    const many = image(2, new Set());
    many.vcpus = [{ number: 0, regs: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`a_very_long_register_name_${i}`, String(i)])) }];
    writeXenCoreSync(p, many);
    const core = XenCoreFile.open(p);
    try {
      expect(core.vcpus[0]!.regs).toHaveLength(XVM_VCPU_MAX_REGS);
      expect(core.vcpus[0]!.regs[3]).toEqual(["a_very_long_reg", 3n]);
    } finally {
      core.close();
    }
  });

  it("reports a full disk as DUMP_FAILED with the system's reason", () => {
    if (!existsSync("/dev/full")) return; // Linux only: a device on which every write fails with ENOSPC
    expect(() => writeXenCoreSync("/dev/full", image(4, new Set()))).toThrow(/^Failed to dump core: \/dev\/full: ENOSPC: no space left on device/);
  });

  it("refuses a bad image and an uncreatable path with DUMP_FAILED", () => {
    const bad = { ...image(2, new Set()), pageSize: 1000 };
    expect(() => writeXenCoreSync(join(dir, "bad.core"), bad)).toThrow(/page size 1000 is not a power of two/);
    const short = { ...image(2, new Set()), nrPages: 3 };
    expect(() => writeXenCoreSync(join(dir, "short.core"), short)).toThrow(/fewer than 3 pages/);
    let caught: unknown;
    try {
      writeXenCoreSync(join(dir, "missing-dir", "x.core"), image(2, new Set()));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(XvmError);
    expect((caught as XvmError).code).toBe("DUMP_FAILED");
    expect((caught as XvmError).message).toMatch(/^Failed to dump core: cannot create .*missing-dir\/x\.core: ENOENT/);
  });
});

describe("Xen dump-core reader on bad files", () => {
  const good = join(dir, "good.core");
  writeXenCoreSync(good, image(8, new Set([2])));
  const bytes = readFileSync(good);

  const openError = (name: string, content: Uint8Array | string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    try {
      XenCoreFile.open(p).close();
    } catch (error) {
      expect(error).toBeInstanceOf(XvmError);
      expect((error as XvmError).code).toBe("DUMP_BAD_FILE");
      return (error as XvmError).message;
    }
    throw new Error(`${name} was accepted`);
  };

  it("says what is wrong", () => {
    expect(openError("empty.core", "")).toMatch(/empty\.core: empty file; not a domain core dump$/);
    expect(openError("text.core", "hello, world\n".repeat(20))).toMatch(/not an ELF file/);
    expect(openError("tiny.core", bytes.subarray(0, 30))).toMatch(/truncated: 30 bytes, shorter than an ELF64 header/);
    expect(openError("cut.core", bytes.subarray(0, bytes.length - 5000))).toMatch(
      new RegExp(`truncated: the dump's sections end at byte ${bytes.length} but the file has only ${bytes.length - 5000} bytes`),
    );
    const notCore = Buffer.from(bytes);
    notCore.writeUInt16LE(2, 16); // ET_EXEC
    expect(openError("exec.core", notCore)).toMatch(/not a core file: ELF type 2, expected ET_CORE/);
    const badMagic = Buffer.from(bytes);
    badMagic.writeUInt32LE(0x12345678, badMagic.indexOf(Buffer.from([0xee, 0xeb, 0x0f, 0xf0])));
    expect(openError("magic.core", badMagic)).toMatch(/bad dump-core magic 0x12345678/);
  });

  it("reports a missing file and a directory", () => {
    expect(() => XenCoreFile.open(join(dir, "nope.core"))).toThrow(/nope\.core: no such file/);
    expect(() => XenCoreFile.open(dir)).toThrow(/is a directory, not a core file/);
  });
});
