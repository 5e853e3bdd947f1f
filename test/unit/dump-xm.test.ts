/**
 * `xm dump-core` as a client: the enable-dump plugin's routes served on a real control socket under
 * a temporary root (the daemon's mounting, `/plugins/<name>/`, done by hand), the command run
 * in-process.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import plugin from "../../plugins/enable-dump/index.ts";
import { buildCli } from "../../src/cli/main.ts";
import { XenCoreFile } from "../../src/formats/elfcore-read.ts";
import { Paths } from "../../src/paths.ts";
import type { ServerHandle } from "../../src/plugin/contract.ts";
import { serve } from "../../src/runtime/serve.ts";
import { FakeHypervisor, type DumpTestContext, makeGuest, pluginContext } from "../helpers/dump-double.ts";

type Config = { "enable-dump": boolean; "dump-directory": string; "dump-limit": number };

let root: string;
let server: ServerHandle | undefined;
let hv: FakeHypervisor;
let t: DumpTestContext<Config>;
const savedRoot = process.env.XVM_ROOT;

async function xm(args: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  // The xm area as the binary builds it: dump-core is the enable-dump plugin's command.
  const cli = await buildCli("xm");
  const stdout = new PassThrough();
  const stderr = Object.assign(new PassThrough(), { isTTY: tty });
  let out = "";
  let err = "";
  stdout.on("data", (d: Buffer) => (out += d.toString()));
  stderr.on("data", (d: Buffer) => (err += d.toString()));
  const code = cli.exitSignal?.exitCode ?? (await cli.run(["xm", "dump-core", ...args], { stdin: new PassThrough(), stdout, stderr }));
  return { code: cli.exitSignal?.exitCode ?? code, stdout: out, stderr: err };
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "xvm-dump-xm-"));
  process.env.XVM_ROOT = root;
  hv = new FakeHypervisor();
  hv.guests.set(3, makeGuest(3, "web1", 16));
  hv.guests.set(4, makeGuest(4, "db1", 16));
  t = pluginContext<Config>(root, hv, { "enable-dump": true, "dump-directory": "/var/xen/dump", "dump-limit": 4096 });
  await plugin.setup(t.ctx as never);
  const api = new Hono();
  api.route("/plugins/enable-dump", t.routes);
  const socket = new Paths(root).controlSocket;
  mkdirSync(join(socket, ".."), { recursive: true });
  server = await serve({ unix: socket }, api.fetch);
});

afterAll(async () => {
  await server?.close();
  if (savedRoot === undefined) delete process.env.XVM_ROOT;
  else process.env.XVM_ROOT = savedRoot;
  rmSync(root, { recursive: true, force: true });
});

describe("xm dump-core", () => {
  it("dumps into the dump directory and says where", async () => {
    const r = await xm(["web1"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [file] = readdirSync(join(root, "var/xen/dump"));
    expect(file).toMatch(/^\d{4}-\d{4}-\d{4}\.\d\d-web1\.3\.core$/);
    expect(r.stdout).toBe(`Dumping core of domain: web1 ...\nCore dumped to ${join(root, "var/xen/dump", file!)}\n`);
    expect(hv.pausedDuringDump).toEqual([true]);
  });

  it("takes a file name relative to the caller's directory, --live and --crash", async () => {
    const cwd = process.cwd();
    const work = join(root, "work");
    mkdirSync(work);
    process.chdir(work);
    try {
      const r = await xm(["-L", "--crash", "4", "db.core"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`Dumping core of domain: 4 ...\nCore dumped to ${join(work, "db.core")}\n`);
    } finally {
      process.chdir(cwd);
    }
    expect(XenCoreFile.open(join(work, "db.core")).domain.name).toBe("db1");
    expect(hv.pausedDuringDump.at(-1)).toBe(false);
    expect(t.domains.calls).toEqual(["destroy db1"]);
  });

  it("shows a progress line on a terminal for a large guest", async () => {
    hv.guests.set(9, makeGuest(9, "big", 16384)); // 64 MiB
    const r = await xm(["big", join(root, "big.core")], true);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Dumping core of domain: big ...\nCore dumped to ${join(root, "big.core")}\n`);
    expect(r.stderr).toMatch(/^(\rDumping big: +\d+% \(\d+\/64 MiB\), ETA (\d+:\d\d|--:--)\x1b\[K)*\rDumping big: 100% \(64\/64 MiB\), ETA 0:00\x1b\[K\n$/);
    // On a pipe: plain lines (one every few seconds and the first at once), no ETA, no escapes.
    const piped = await xm(["big", join(root, "big2.core")]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toMatch(/^(Dumping big: \d+\/64 MiB \(\d+%\)\n)+$/);
    const small = await xm(["web1", join(root, "small.core")], true);
    expect([small.code, small.stderr]).toEqual([0, ""]);
    const missing = await xm(["nosuch"], true);
    expect([missing.code, missing.stderr]).toEqual([1, "Error: Domain 'nosuch' does not exist.\n"]);
  });

  it("reports errors as xm did, with exit status 1", async () => {
    let r = await xm(["-C", "-R", "web1"]);
    expect([r.code, r.stdout, r.stderr]).toEqual([1, "", "Error: You may not specify more than one '-CR' option\n"]);
    r = await xm(["nosuch"]);
    expect([r.code, r.stderr]).toEqual([1, "Error: Domain 'nosuch' does not exist.\n"]);
    r = await xm(["web1", root]);
    expect([r.code, r.stderr]).toEqual([1, `Error: Cannot dump core in a directory: ${root}\n`]);
  });

  it("says when xend is not running", async () => {
    const other = mkdtempSync(join(tmpdir(), "xvm-dump-xm-none-"));
    process.env.XVM_ROOT = other;
    try {
      const r = await xm(["web1"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`Error: xend is not running for root ${other} (no control socket at ${join(other, "var/run/xend/control.sock")}); try: svcadm enable xend\n`);
    } finally {
      process.env.XVM_ROOT = root;
      rmSync(other, { recursive: true, force: true });
    }
    expect(existsSync(join(root, "var/xen/dump"))).toBe(true);
  });
});
