import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { buildCli } from "../../src/cli/main.ts";
import { hexDump, parseNumber } from "../../src/cli/mdb.ts";
import { writeXenCoreSync } from "../../src/formats/elfcore.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-mdb-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function mdb(args: string[], input = ""): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  stdin.end(input);
  const code = await (await buildCli("mdb")).run(["mdb", ...args], { stdin, stdout, stderr });
  return { code, stdout: out, stderr: err };
}

// A sim:counter guest as the simulator lays it out: start info in page frame 0.
const PAGES = 8;
const memory = new Uint8Array(PAGES * 4096);
memory.set(Buffer.from("XVMSIM01", "latin1"), 0);
new DataView(memory.buffer).setUint32(0x08, 2, true); // program id: counter
new DataView(memory.buffer).setUint32(0x0c, 1, true);
new DataView(memory.buffer).setBigUint64(0x10, 123456n, true);
memory.fill(0x41, 3 * 4096, 3 * 4096 + 20);
memory[3 * 4096 + 4095] = 0xff;
const core = join(dir, "2009-0430-1433.32-web1.5.core");
writeXenCoreSync(core, {
  domid: 5, name: "web1", uuid: "6ba7b810-9dad-11d1-80b4-00c04fd430c8", pageSize: 4096, nrPages: PAGES, memory,
  vcpus: [{ number: 0, regs: { pc: "16", counter: "123456" } }, { number: 1, regs: { pc: "255" } }],
  xenVersion: { major: 3, minor: 4, extra: ".0-xvm" },
});

const STATUS_LINES = [
  `debugging core file: ${core}`,
  "domain:      web1 (domid 5, uuid 6ba7b810-9dad-11d1-80b4-00c04fd430c8)",
  expect.stringMatching(/^dump time:   \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  "format:      Xen dump-core 0.1, ELF64 ET_CORE, HVM (magic 0xf00febee)",
  "hypervisor:  Xen 3.4.0-xvm",
  "vCPUs:       2",
  "pages:       8 of 4096 bytes (32 KiB)",
];

describe("xvm mdb", () => {
  it("prints the header, then runs commands read from a non-terminal stdin", async () => {
    const r = await mdb([core], "::regs\n3::page\n::quit\n::status\n");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 7)).toEqual(STATUS_LINES);
    expect(lines.slice(7)).toEqual([
      "vCPU 0:",
      "    %pc      = 0x0000000000000010  16",
      "    %counter = 0x000000000001e240  123456",
      "vCPU 1:",
      "    %pc = 0x00000000000000ff  255",
      "page frame 0x3 (guest-physical 0x3000-0x3fff):",
      "00003000  41 41 41 41 41 41 41 41  41 41 41 41 41 41 41 41  |AAAAAAAAAAAAAAAA|",
      "00003010  41 41 41 41 00 00 00 00  00 00 00 00 00 00 00 00  |AAAA............|",
      "00003020  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
      "*",
      "00003ff0  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 ff  |................|",
      "",
    ]);
  });

  it("with only the file and no input prints just the header", async () => {
    const r = await mdb([core]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(0, -1)).toEqual(STATUS_LINES);
  });

  it("runs -e commands one-shot, ';'-separated too, and reads the counter", async () => {
    const r = await mdb(["-e", "::counter", "-e", "1::regs; 0t16,0t4::dump", core]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      "counter = 123456 (0x1e240)",
      "vCPU 1:",
      "    %pc = 0x00000000000000ff  255",
      "00000010  40 e2 01 00                                       |@...|",
      "",
    ].join("\n"));
  });

  it("reads any uint64 with <addr>::counter and notes a guest that does not count", async () => {
    expect((await mdb(["-e", "3000::counter", core])).stdout).toBe("counter = 4702111234474983745 (0x4141414141414141) at guest-physical 0x3000\n");
    const idle = new Uint8Array(memory);
    new DataView(idle.buffer).setUint32(0x08, 1, true);
    const p = join(dir, "idle.core");
    writeXenCoreSync(p, { domid: 6, name: "idle", uuid: "u", pageSize: 4096, nrPages: PAGES, memory: idle, vcpus: [], xenVersion: { major: 3, minor: 4, extra: "" } });
    expect((await mdb(["-e", "::counter", p])).stdout).toBe("counter = 123456 (0x1e240) (guest program is sim:idle, which does not count)\n");
    const plain = join(dir, "plain.core");
    writeXenCoreSync(plain, { domid: 6, name: "plain", uuid: "u", pageSize: 4096, nrPages: 1, memory: new Uint8Array(4096), vcpus: [], xenVersion: { major: 3, minor: 4, extra: "" } });
    const r = await mdb(["-e", "::counter", plain]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("mdb: no simulated-guest start info in page frame 0 (no XVMSIM01 magic): not a sim guest, or it never booted; <addr>::counter reads any address\n");
  });

  it("reports bad commands on stderr, goes on, and exits 1 when not interactive", async () => {
    const r = await mdb([core], "::bogus\n99::page\nzz::page\n2::regs\n0t1::page\n");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe([
      "mdb: unknown dcmd '::bogus' (try ::help)",
      "mdb: page frame 0x99 is not in this dump (frames 0x0-0x7)",
      "mdb: bad number 'zz' (hexadecimal by default; 0t for decimal)",
      "mdb: no vCPU 2 in this dump (vCPUs: 0, 1)",
      "",
    ].join("\n"));
    expect(r.stdout).toContain("page frame 0x1 (guest-physical 0x1000-0x1fff):\n00001000  00 00");
  });

  it("says what is wrong with a truncated, garbage or missing file, exit status 1", async () => {
    const bytes = readFileSync(core);
    const cut = join(dir, "cut.core");
    writeFileSync(cut, bytes.subarray(0, 5000));
    let r = await mdb([cut], "::status\n");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`mdb: ${cut}: truncated: the dump's sections end at byte ${bytes.length} but the file has only 5000 bytes\n`);

    const junk = join(dir, "junk.core");
    writeFileSync(junk, "this is not a core file\n");
    r = await mdb(["-e", "::status", junk]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`mdb: ${junk}: not an ELF file (no \\x7fELF magic); not a domain core dump\n`);

    r = await mdb([join(dir, "absent.core")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`mdb: ${join(dir, "absent.core")}: no such file\n`);
  });

  it("lists its dcmds", async () => {
    const r = await mdb(["-e", "::help", core]);
    expect(r.code).toBe(0);
    for (const d of ["::status", "::regs", "::page", "::dump", "::counter", "::quit"]) expect(r.stdout).toContain(d);
  });
});

describe("mdb helpers", () => {
  it("parses numbers as mdb does: hex by default, 0t decimal, 0x hex, 0o octal, 0i binary", () => {
    expect([parseNumber("10"), parseNumber("0t10"), parseNumber("0x10"), parseNumber("0o10"), parseNumber("0i10"), parseNumber("fF")]).toEqual([16, 10, 16, 8, 2, 255]);
    expect(() => parseNumber("0t1f")).toThrow(/bad number '0t1f'/);
  });

  it("collapses repeated lines but always shows the last one", () => {
    expect(hexDump(new Uint8Array(64), 0x1000)).toBe([
      "00001000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
      "*",
      "00001030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
      "",
    ].join("\n"));
  });
});
