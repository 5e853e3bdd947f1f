/**
 * binutils' readelf is the outside judge of the format: it must accept every dump without a warning
 * and show the ELF header, the Xen sections and the dump-core notes.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CoreImage, writeXenCoreSync } from "../../src/formats/elfcore.ts";
import { pseudoRandom } from "../helpers/dump-double.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-readelf-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function readelf(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("readelf", args, { encoding: "utf8" });
  if (r.error) throw new Error(`readelf is needed for this test (apt-get install binutils): ${r.error.message}`);
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

function image(nrPages: number, vcpus: number): CoreImage {
  const memory = new Uint8Array(nrPages * 4096);
  pseudoRandom(memory, nrPages);
  memory.fill(0, 0, 8192);
  return {
    domid: 12, name: "db-server", uuid: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", pageSize: 4096, nrPages, memory,
    vcpus: Array.from({ length: vcpus }, (_, i) => ({ number: i, regs: { pc: String(i * 16), counter: "9" } })),
    xenVersion: { major: 3, minor: 4, extra: ".2-xvm" },
  };
}

describe("readelf accepts the dumps", () => {
  const cases: Array<[string, number, number]> = [["one vCPU, 1 page", 1, 1], ["four vCPUs, 300 pages", 300, 4], ["no vCPU, 64 pages", 64, 0]];
  const files: string[] = [];
  beforeAll(() => {
    cases.forEach(([, pages, vcpus], i) => {
      const f = join(dir, `case${i}.core`);
      writeXenCoreSync(f, image(pages, vcpus));
      files.push(f);
    });
  });

  it("shows an ELF64 core with the Xen dump-core sections, and no warnings", () => {
    cases.forEach(([, pages, vcpus], i) => {
      const r = readelf(["-h", "-S", "-n", "-W", files[i]!]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Class:\s+ELF64/);
      expect(r.stdout).toMatch(/Type:\s+CORE \(Core file\)/);
      expect(r.stdout).toMatch(/Number of section headers:\s+7/);
      expect(r.stdout).toMatch(/Section header string table index:\s+1/);
      const sections = [...r.stdout.matchAll(/^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)]
        .map((m) => ({ n: Number(m[1]), name: m[2], type: m[3], offset: Number.parseInt(m[4]!, 16), size: Number.parseInt(m[5]!, 16) }))
        .filter((s) => s.n > 0);
      expect(sections.map((s) => [s.name, s.type])).toEqual([
        [".shstrtab", "STRTAB"],
        [".note.Xen", "NOTE"],
        [".xen_prstatus", "PROGBITS"],
        [".xen_pfn", "PROGBITS"],
        [".xen_pages", "PROGBITS"],
        [".note.xvm", "NOTE"],
      ]);
      const pagesSec = sections.find((s) => s.name === ".xen_pages")!;
      expect(pagesSec.offset % 4096).toBe(0);
      expect(pagesSec.size).toBe(pages * 4096);
      expect(sections.find((s) => s.name === ".xen_pfn")!.size).toBe(pages * 8);
      expect(sections.find((s) => s.name === ".xen_prstatus")!.size).toBe(vcpus * 1024);
    });
  });

  it("shows the four Xen notes with the HVM header and format version 0.1, and the xvm note", () => {
    cases.forEach(([, pages, vcpus], i) => {
      const r = readelf(["-n", "-W", files[i]!]);
      expect(r.stderr).toBe("");
      const notes = [...r.stdout.matchAll(/^\s+(Xen|xvm)\s+0x([0-9a-f]+)\s+.*\(0x([0-9a-f]+)\)/gm)].map((m) => [m[1], Number.parseInt(m[2]!, 16), m[3]]);
      expect(notes).toEqual([
        ["Xen", 0, "02000000"],
        ["Xen", 32, "02000001"],
        ["Xen", 1280, "02000002"],
        ["Xen", 8, "02000003"],
        ["xvm", expect.any(Number), "78766d01"],
      ]);
      const le64 = (n: number) => Buffer.from(new BigUint64Array([BigInt(n)]).buffer).toString("hex").match(/../g)!.join(" ");
      // HEADER: magic 0xF00FEBEE, nr_vcpus, nr_pages, page_size as little-endian uint64s.
      expect(r.stdout).toContain(`description data: ${[le64(0xf00febee), le64(vcpus), le64(pages), le64(4096)].join(" ")}`);
      // FORMAT_VERSION (0 << 32) | 1.
      expect(r.stdout).toContain(`description data: ${le64(1)} \n`);
    });
  });
});
