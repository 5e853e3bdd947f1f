/**
 * `xm sched-credit` through the compiled binary: 3.4's listing, setting a running and an inactive
 * managed domain, cpu_weight / cpu_cap from configs, the bad input it refuses (nothing changed).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

let root: string;
let xend: Xend | undefined;

function cfg(name: string, lines: string): string {
  const path = join(root, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nkernel = "sim:busy"\nmemory = 16\n${lines}\n`);
  return path;
}

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-xm-sched-"), { relocation: false });
  xend = await startXend(root);
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

const row = (name: string, id: string, weight: number, cap: number) =>
  `${name.padEnd(32)} ${id.padStart(5)} ${String(weight).padStart(6)} ${String(cap).padStart(4)}`;
// 3.4: '%-33s %4s %6s %4s' % ('Name', 'ID', 'Weight', 'Cap').
const HEADER = `${"Name".padEnd(33)} ${"ID".padStart(4)} Weight  Cap`;

describe("xm sched-credit", () => {
  it("lists every domain as 3.4 did, with cpu_weight and cpu_cap from the config", () => {
    xmOk(root, "create", cfg("b1", "vcpus = 2\ncpu_weight = 512\ncpu_cap = '150'"));
    xmOk(root, "new", cfg("m1", "cpu_cap = 20"));
    expect(xmOk(root, "sched-credit")).toBe([HEADER, row("Domain-0", "0", 256, 0), row("b1", "1", 512, 150), row("m1", "", 256, 20), ""].join("\n"));
    expect(xmOk(root, "sched-credit", "-d", "b1")).toBe(`${HEADER}\n${row("b1", "1", 512, 150)}\n`);
  });

  it("sets weight and cap of a running domain; the config (xm list -l) follows", () => {
    expect(xm(root, "sched-credit", "-d", "b1", "-w", "1024")).toEqual({ code: 0, stdout: "", stderr: "" });
    xmOk(root, "sched-credit", "-d", "1", "--cap=50");
    expect(xmOk(root, "sched-credit", "-d", "b1")).toBe(`${HEADER}\n${row("b1", "1", 1024, 50)}\n`);
    const long = xmOk(root, "list", "-l", "b1");
    expect(long).toContain("(cpu_weight 1024)");
    expect(long).toContain("(cpu_cap 50)");
  });

  it("sets an inactive managed domain's values, kept for its next start", () => {
    xmOk(root, "sched-credit", "-d", "m1", "-w", "64");
    xmOk(root, "start", "m1");
    expect(xmOk(root, "sched-credit", "-d", "m1")).toBe(`${HEADER}\n${row("m1", "2", 64, 20)}\n`);
  });

  it("prints JSON", () => {
    const out = JSON.parse(xmOk(root, "sched-credit", "--json")) as { domains: { name: string; weight: number; cap: number; domid: number | null }[] };
    expect(out.domains.map((d) => [d.name, d.domid, d.weight, d.cap])).toEqual([["Domain-0", 0, 256, 0], ["b1", 1, 1024, 50], ["m1", 2, 64, 20]]);
  });

  it("refuses bad input, naming it, and changes nothing", () => {
    const before = xmOk(root, "sched-credit");
    const refused = (args: string[], stderr: string) => {
      const r = xm(root, "sched-credit", ...args);
      expect([r.code, r.stderr]).toEqual([1, stderr]);
    };
    refused(["-d", "b1", "-w", "70000"], "Error: weight 70000 is out of range: give 1 to 65535 (default 256)\n");
    refused(["-d", "b1", "-w", "0"], "Error: weight 0 is out of range: give 1 to 65535 (default 256)\n");
    refused(["-d", "b1", "-c", "201"], "Error: cap 201 is out of range: give 0 (no cap) to 200 (100 per vCPU, 2 vCPUs)\n");
    refused(["-d", "b1", "-w", "300", "-c", "-1"], "Error: cap -1 is out of range: give 0 (no cap) to 200 (100 per vCPU, 2 vCPUs)\n");
    refused(["-d", "b1", "-w", "lots"], "Error: Invalid weight 'lots': expected a whole number\n");
    refused(["-w", "300"], "Error: No domain given.\n");
    refused(["-d", "nope"], "Error: Domain 'nope' does not exist.\n");
    refused(["-d", "nope", "-w", "300"], "Error: Domain 'nope' does not exist.\n");
    expect(xmOk(root, "sched-credit")).toBe(before);
    const usage = xm(root, "sched-credit", "-w", "300");
    expect(usage.stdout.startsWith("Usage: xm sched-credit [-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]\n")).toBe(true);
  });

  it("refuses a config whose weight or cap is out of range, naming the setting", () => {
    const w = cfg("bad1", "cpu_weight = 0");
    const r = xm(root, "create", w);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cpu_weight 0 is out of range: give 1 to 65535");
    const c = cfg("bad2", "vcpus = 1\ncpu_cap = 101");
    expect(xm(root, "create", c).stderr).toContain("cpu_cap 101 is out of range: give 0 to 100");
    expect(xmOk(root, "list")).not.toContain("bad");
  });
});
