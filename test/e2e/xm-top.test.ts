/**
 * `xm top` through the compiled binary: xentop's batch table (-b -i N), and the terminal screen on
 * a real pty (summary, table, keys, q quits).
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { onPty } from "../helpers/pty.ts";
import { startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const HEADER = "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR SSID";

let root: string;
let xend: Xend | undefined;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-xm-top-"), { relocation: false });
  xend = await startXend(root);
  xmOk(root, "create", join(repo, "examples/counter.cfg"));
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

/** A table row's fields by xentop's columns. */
function fields(line: string): string[] {
  return [line.slice(0, 10).trim(), ...line.slice(11).trim().split(/\s+/)];
}

describe("xm top", () => {
  it("-b -i 2 prints the table twice, sorted by name, CPU % from the second sample on", () => {
    const r = xm(root, "top", "-b", "-i", "2", "-d", "1");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines).toHaveLength(6);
    expect([lines[0], lines[3]]).toEqual([HEADER, HEADER]);
    const first = [lines[1]!, lines[2]!].map(fields);
    expect(first.map((f) => f[0])).toEqual(["counter1", "Domain-0"]);
    expect(first.map((f) => f[3])).toEqual(["0.0", "0.0"]);
    const counter = fields(lines[4]!);
    // name, state, cpu s, cpu %, mem k, mem %, maxmem k, maxmem %, vcpus, nets, tx, rx, vbds, oo, rd, wr, ssid
    expect(counter[0]).toBe("counter1");
    expect(counter[1]).toMatch(/^--[b-]--[r-]$/);
    expect(Number(counter[3])).toBeGreaterThanOrEqual(0);
    expect(counter.slice(4, 5).concat(counter.slice(6, 7), counter.slice(8))).toEqual(["131072", "262144", "1", "1", "0", "0", "0", "0", "0", "0", "0"]);
    for (const line of lines) expect(line.length).toBe(HEADER.length);
  });

  it("-v adds each domain's vCPU times", () => {
    const out = xmOk(root, "top", "-b", "-i", "1", "-v");
    expect(out).toMatch(/^  counter1 .*\nVCPUs\(sec\):   0: +\d+s\n/m);
  });

  it("refuses a bad iteration count with the usage", () => {
    const r = xm(root, "top", "-b", "-i", "0");
    expect([r.code, r.stderr]).toEqual([1, "Error: Invalid number of iterations '0': expected a whole number of at least 1\n"]);
    expect(r.stdout).toBe("Usage: xm top \n\nMonitor a host and the domains in real time.\n");
  });

  it("draws the screen on a terminal and quits on q", () => {
    const r = onPty([xvmBin(), "xm", "top"], [["Quit", "v"], ["VCPUs(sec):", "q"]], { XVM_ROOT: root });
    expect(r.error).toBeNull();
    expect(r.status).toBe(0);
    expect(r.transcript).toMatch(/xentop - \d\d:\d\d:\d\d   Xen \S+/);
    expect(r.transcript).toMatch(/2 domains: \d running, \d blocked, 0 paused, 0 crashed, 0 dying, 0 shutdown/);
    expect(r.transcript).toContain(HEADER);
    // The terminal is left as it was: alternate screen off, cursor shown.
    expect(r.transcript.endsWith("\x1b[?25h\x1b[?1049l")).toBe(true);
  });
});
