/**
 * `xvm mdb` from the compiled binary: interactive on a real terminal (a pty driven by python3),
 * through the `mdb` link name, and its exit statuses on bad files.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeXenCoreSync } from "../../src/formats/elfcore.ts";
import { run, xvmBin } from "../helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-mdb-e2e-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

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

/** Runs argv on a pty; each step waits for its text (after the previous match), then types its keys. */
function onPty(argv: string[], steps: Array<[string, string]>): { status: number; transcript: string; error: string | null } {
  const driver = `
import json, os, pty, select, sys, time
argv, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, dict(os.environ, TERM="xterm"))
out, pos, error = b"", 0, None
def pump(until):
    global out
    while time.time() < until:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
            return True
    return True
for want, keys in steps:
    deadline = time.time() + 20
    while out.find(want.encode(), pos) < 0 and time.time() < deadline:
        if not pump(deadline): break
    at = out.find(want.encode(), pos)
    if at < 0:
        error = "timed out waiting for " + repr(want)
        break
    pos = at + len(want)
    os.write(fd, keys.encode())
status, deadline = None, time.time() + 20
while time.time() < deadline:
    pump(time.time() + 0.05)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    error = error or "did not exit"
print(json.dumps({"status": -1 if status is None else status, "transcript": out.decode("utf-8", "replace"), "error": error}))
`;
  const r = spawnSync("python3", ["-c", driver, JSON.stringify(argv), JSON.stringify(steps)], { encoding: "utf8", timeout: 90_000 });
  expect(r.status, `python3 drives the pty: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as { status: number; transcript: string; error: string | null };
}

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
