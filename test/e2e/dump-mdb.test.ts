/**
 * `xvm mdb` from the compiled binary: interactive on a real terminal (a pty driven by python3),
 * through the `mdb` link name, and its exit statuses on bad files.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeXenCoreSync } from "../../src/formats/elfcore.ts";
import { cleanupRoot, run, xvmBin } from "../helpers/cli.ts";
import { onPty } from "../helpers/pty.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-mdb-e2e-"));
// An mdb left on a pty by a driver that timed out names a core under `dir`: cleanupRoot finds it.
afterAll(() => cleanupRoot(dir));

const memory = new Uint8Array(4 * 4096);
memory.set(Buffer.from("XVMSIM01", "latin1"), 0);
new DataView(memory.buffer).setUint32(0x08, 2, true);
new DataView(memory.buffer).setBigUint64(0x10, 777n, true);
memory.fill(0x5a, 2 * 4096, 3 * 4096);
const core = join(dir, "2024-0102-0304.05-ctr.9.core");
writeXenCoreSync(core, {
  domid: 9, name: "ctr", uuid: "11111111-2222-3333-4444-555555555555", pageSize: 4096, nrPages: 4, memory,
  vcpus: [{ number: 0, regs: { rip: "777" } }], xenVersion: { major: 3, minor: 4, extra: ".0-xvm" },
});

describe("xvm mdb on a terminal", () => {
  it("prints the header, prompts, runs dcmds, reports errors and leaves on ::quit", () => {
    const r = onPty([xvmBin(), "mdb", core], [
      ["> ", "::counter\r"],
      ["> ", "2::page\r"],
      ["> ", "::nosuch\r"],
      ["> ", "::quit\r"],
    ]);
    expect(r.error).toBeNull();
    expect(r.status).toBe(0);
    const screen = r.transcript.replace(/\r\n/g, "\n");
    expect(screen).toContain("domain:      ctr (domid 9, uuid 11111111-2222-3333-4444-555555555555)\n");
    expect(screen).toContain("counter = 777 (0x309)\n");
    expect(screen).toContain("page frame 0x2 (guest-physical 0x2000-0x2fff):\n00002000  5a 5a 5a 5a 5a 5a 5a 5a  5a 5a 5a 5a 5a 5a 5a 5a  |ZZZZZZZZZZZZZZZZ|\n*\n");
    expect(screen).toContain("mdb: unknown dcmd '::nosuch' (try ::help)\n");
  });

  it("leaves on end of input (^D) with status 0", () => {
    const r = onPty([xvmBin(), "mdb", core], [["> ", "\x04"]]);
    expect(r.error).toBeNull();
    expect(r.status).toBe(0);
  });
});

describe("xvm mdb as a command", () => {
  it("answers to the mdb link name", () => {
    const r = run(["-e", "::regs", core], { root: dir, argv0: "mdb" });
    expect(r).toEqual({ code: 0, stdout: "vCPU 0:\n    %rip = 0x0000000000000309  777\n", stderr: "" });
  });

  it("exits 1 with the reason on a truncated or foreign file", () => {
    const cut = join(dir, "cut.core");
    writeFileSync(cut, Buffer.alloc(100, 0x7f));
    expect(run(["mdb", cut], { root: dir })).toEqual({ code: 1, stdout: "", stderr: `mdb: ${cut}: not an ELF file (no \\x7fELF magic); not a domain core dump\n` });
    expect(run(["mdb", "-e", "::status", xvmBin()], { root: dir })).toMatchObject({ code: 1, stdout: "", stderr: expect.stringMatching(/: not a core file: ELF type \d+, expected ET_CORE \(4\)\n$/) });
  });
});
