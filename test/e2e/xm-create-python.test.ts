/**
 * `xm create` as 3.4 had it (issue 15.5–15.6), through the compiled binary: Python configs with
 * `var=value` variables, the default config xmdefconfig, `-n` printing the SXP, `-c` attaching the
 * console, and `xm` alone printing the short help with exit status 1.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { listMap, listRows, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname, "../..");
let root: string;
let xend: Xend | undefined;

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-xm-python-"), { relocation: false });
  mkdirSync(join(root, "etc/xen"), { recursive: true });
  writeFileSync(join(root, "etc/xen/xmdefconfig"), [
    "# the default config, with a variable from the command line",
    "vmid = int(vmid) if 1 else 0",
    "name = 'def%02d' % vmid",
    "kernel = 'sim:idle'",
    // bridge= must name a link of this host: lo is on every host.
    "memory = '%d' % (32 * vmid)",
    "vif = [ 'mac=00:16:3e:00:00:%02x, bridge=lo' % vmid ]",
    "",
  ].join("\n"));
  // The corpus file names xenbr0, which this host need not have: lo is a link of every host.
  writeFileSync(join(root, "etc/xen/computed-sim.cfg"), readFileSync(join(repo, "test/fixtures/xm-configs/computed-sim.cfg"), "utf8").replace("'xenbr0'", "'lo'"));
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

describe("xm create, offline", () => {
  it("prints 3.4's short help for xm alone, with exit status 1", () => {
    const r = xm(root);
    expect(r.code).toBe(1);
    expect(r.stdout.startsWith(
      "Usage: xm <subcommand> [args]\n\nControl, list, and manipulate Xen guest instances.\n\nCommon 'xm' commands:\n\n" +
      ` console              ${"Attach to <Domain>'s console.".padEnd(50)}\n create               ${"Create a domain based on <ConfigFile>.".padEnd(50)}\n`,
    )).toBe(true);
    expect(r.stdout.endsWith(
      "\n<Domain> can either be the Domain Name or Id.\nFor more help on 'xm' see the xm(1) man page.\n" +
      "For more help on 'xm create' see the xmdomain.cfg(5)  man page.\n\nFor a complete list of subcommands run 'xm help'.\n",
    )).toBe(true);
  });

  it("reads xmdefconfig when no file is named, and -n prints the SXP without creating anything", () => {
    const r = run(["xm", "create", "-n", "vmid=3"], { root });
    expect(r).toEqual({
      code: 0,
      stderr: "",
      stdout: `Using config file "${root}/etc/xen/xmdefconfig".\n(vm\n    (name def03)\n    (memory 96)\n    (vcpus 1)\n    (on_poweroff destroy)\n    (on_reboot restart)\n    (on_crash restart)\n    (image (linux (kernel sim:idle)))\n    (device (vif (mac 00:16:3e:00:00:03) (bridge lo)))\n)\n`,
    });
  });

  it("reports a Python error in the config at its line and column and creates nothing", () => {
    writeFileSync(join(root, "etc/xen/broken.cfg"), "kernel = 'sim:idle'\nfor x in [1]:\n    memory = x\n");
    expect(xm(root, "create", "broken.cfg")).toEqual({
      code: 1,
      stdout: "",
      stderr: `Error: ${root}/etc/xen/broken.cfg:2:1: 'for' loops are not supported in a domain config (a config may use assignments, if/elif/else, import os and expressions)\n`,
    });
  });
});

describe("xm create against xend", () => {
  beforeAll(async () => {
    xend = await startXend(root);
  });

  it("creates a domain from a computed Python config", () => {
    expect(xmOk(root, "create", "computed-sim.cfg")).toBe(`Using config file "${root}/etc/xen/computed-sim.cfg".\nStarted domain calc-large (id=1)\n`);
    expect(listRows(root).find((r) => r.name === "calc-large")).toMatchObject({ id: "1", mem: 256, vcpus: 2 });
  });

  it("-c attaches the console after creating, and leaves when its input ends", () => {
    const r = run(["xm", "create", "-c", "vmid=5"], { root, input: "" });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Using config file "${root}/etc/xen/xmdefconfig"\\.\\nStarted domain def05 \\(id=2\\)\\n[^]*xvm-sim guest kernel \\(sim:idle\\) booting: 1 vCPU\\(s\\), 160 MiB\\n`));
    expect(listMap(root)).toHaveProperty("def05");
  });
});
