/**
 * xm's argument handling as Xen 3.4's main.py had it, through the compiled binary: usage errors
 * (`Error: 'xm pause' requires 1 argument.`, exit 1, the usage on stdout), unique prefixes, the
 * deprecated aliases, getopt's unknown-option message.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { parseList, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

let root: string;
let xend: Xend | undefined;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-xm-args-"), { relocation: false });
  xend = await startXend(root);
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

describe("xm usage errors", () => {
  it("counts arguments as arg_check did and prints the usage", () => {
    const r = xm(root, "pause");
    expect(r).toEqual({ code: 1, stderr: "Error: 'xm pause' requires 1 argument.\n\n", stdout: "Usage: xm pause <Domain>\n\nPause execution of a domain.\n" });
    expect(xm(root, "rename", "a").stderr).toBe("Error: 'xm rename' requires 2 arguments.\n\n");
    expect(xm(root, "trigger", "a").stderr).toBe("Error: 'xm trigger' requires between 2 and 3 arguments.\n\n");
    const info = xm(root, "info", "-c", "x");
    expect([info.code, info.stderr]).toEqual([1, "Error: 'xm info' requires between 0 and 1 arguments.\n\n"]);
    expect(info.stdout).toBe("Usage: xm info [-c|--config]\n\nGet information about Xen host.\n" +
      `  ${"-c, --config".padEnd(30)} ${"List Xend configuration parameters".padEnd(43)}\n\n`);
  });

  it("names an unknown option as getopt did", () => {
    const r = xm(root, "list", "--bogus");
    expect([r.code, r.stderr]).toEqual([1, "Error: option --bogus not recognized\n"]);
    expect(r.stdout.startsWith("Usage: xm list [options] [Domain, ...]\n\nList information about all/some domains.\n")).toBe(true);
    expect(xm(root, "list", "--state").stderr).toBe("Error: option --state requires argument\n");
  });

  it("complains about network-list without a domain on stdout", () => {
    const r = xm(root, "network-list");
    expect([r.code, r.stderr]).toEqual([1, ""]);
    expect(r.stdout.startsWith("No domain parameter given\nUsage: xm network-list <Domain> [--long]\n")).toBe(true);
  });

  it("a value the command refuses is exit 1 with the usage", () => {
    const r = xm(root, "mem-set", "Domain-0", "lots");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: Invalid memory size 'lots': use a number of MiB, optionally with a unit k, m, g or t (e.g. 512, 512m, 1g)\n");
    expect(r.stdout).toBe("Usage: xm mem-set <Domain> <Mem>\n\nSet the current memory usage for a domain.\n");
  });
});

describe("xm subcommand names", () => {
  it("takes a unique prefix", () => {
    const r = xm(root, "li");
    expect([r.code, r.stderr]).toEqual([0, ""]);
    expect(parseList(r.stdout)[0]!.name).toBe("Domain-0");
    expect(xm(root, "domn", "0").stdout).toBe("Domain-0\n");
  });

  it("refuses an ambiguous prefix as an unknown subcommand", () => {
    const r = xm(root, "dom", "0");
    expect(r.code).toBe(1);
    expect(r.stderr.startsWith("Error: Subcommand dom not found!\n")).toBe(true);
  });

  it("runs 3.4's aliases after its deprecation notice", () => {
    const r = xm(root, "vif-list", "Domain-0");
    expect([r.code, r.stderr]).toEqual([0, "Command vif-list is deprecated.  Please use xm network-list instead.\n"]);
    const b = xm(root, "balloon", "x");
    expect([b.code, b.stderr]).toEqual([1, "Command balloon is deprecated.  Please use xm mem-set instead.\nError: 'xm mem-set' requires 2 arguments.\n\n"]);
  });
});

describe("xm vcpu-set 0 N (Domain-0)", () => {
  it("takes Domain-0's vCPUs offline and back within what it has, as 3.4 did", () => {
    const all = (JSON.parse(xmOk(root, "vcpu-list", "--json", "0")) as { domains: { vcpus: unknown[] }[] }).domains[0]!.vcpus.length;
    expect(xm(root, "vcpu-set", "0", "1")).toEqual({ code: 0, stdout: "", stderr: "" });
    const rows = xmOk(root, "vcpu-list", "0").split("\n").filter(Boolean).slice(1);
    expect(rows).toHaveLength(all);
    expect(rows.filter((r) => / --p /.test(r))).toHaveLength(all - 1);
    expect(parseList(xmOk(root, "list", "0"))[0]!.vcpus).toBe(1);
    const over = xm(root, "vcpu-set", "0", String(all + 1));
    expect([over.code, over.stderr]).toEqual([1, `Error: Domain 'Domain-0' can have 1 to ${all} vCPUs (config/dom0-cpus), not ${all + 1}.\n`]);
    xmOk(root, "vcpu-set", "0", String(all));
    expect(parseList(xmOk(root, "list", "0"))[0]!.vcpus).toBe(all);
  });
});
