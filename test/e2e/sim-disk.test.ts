/**
 * The sim driver's virtual disks through the compiled binary (issue 15.2): a `sim:disk` guest
 * writes a known pattern to its disk and reads it back; the bytes land in the backing file. A
 * disk block-attached to the running guest reaches its runner (the guest writes to it), a detached
 * one is closed by the runner, and a read-only disk refuses the guest's write, at create and when
 * attached. `xm list -l` and the legacy interface show the devices as they are after each change.
 */
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { consoleText, listMap, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";
import { unixJson } from "../../src/runtime/http-client.ts";

let root: string;
let xend: Xend | undefined;
const SIZE = 64 * 1024;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-simdisk-e2e-"), { relocation: false });
  for (const f of ["a.img", "b.img", "c.img", "ro.img"]) writeFileSync(join(root, f), Buffer.alloc(SIZE));
  xend = await startXend(root);
}, 60_000);

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

/** Sector `s` of pass `pass` as docs/domains.md says sim:disk writes it. */
const sector = (vdev: string, s: number, pass: number) => `xvm-sim disk ${vdev} sector ${s} pass ${pass}`.padEnd(511, ".") + "\n";

const file = (name: string) => readFileSync(join(root, name));
const domid = (name: string) => listMap(root)[name]!.split(" ")[0]!;
const runnerPid = (name: string) => Number(readFileSync(join(root, "var/run/xend/domains", domid(name), "pid"), "utf8"));
/** Host files the guest's runner has open. */
const openFiles = (name: string) => {
  const dir = `/proc/${runnerPid(name)}/fd`;
  return readdirSync(dir).map((fd) => {
    try {
      return readlinkSync(join(dir, fd));
    } catch {
      return "";
    }
  });
};
const onConsole = (name: string, text: string) => waitFor(async () => (await consoleText(root, name)).includes(text), `'${text}' on ${name}'s console`, 20_000, 50);
const typeIn = (name: string, line: string) => unixJson(join(root, "var/run/xend/control.sock"), "POST", `/domains/${name}/console`, { data: `${line}\n` });

function legacyGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: join(root, "var/lib/xend/xend-socket"), method: "GET", path }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end();
  });
}

const flat = (s: string) => s.replace(/\s+/g, " ").replace(/ \)/g, ")");

describe("sim:disk", () => {
  it("writes its pattern to the disk it boots with; the bytes land in the backing file", async () => {
    writeFileSync(join(root, "w1.cfg"), `name = "w1"\nkernel = "sim:disk"\nmemory = 32\nextra = "disk=xvda sector=3 count=5"\ndisk = [ 'file:${root}/a.img,xvda,w' ]\n`);
    xmOk(root, "create", join(root, "w1.cfg"));
    await onConsole("w1", "sim-disk: xvda: pass 1: wrote 5 sectors at sector 3, read back identical\n");
    const data = file("a.img");
    expect(data.length).toBe(SIZE);
    expect(data.subarray(0, 3 * 512).every((b) => b === 0)).toBe(true);
    expect(data.subarray(3 * 512, 8 * 512).toString("latin1")).toBe([3, 4, 5, 6, 7].map((s) => sector("xvda", s, 1)).join(""));
    expect(data.subarray(8 * 512).every((b) => b === 0)).toBe(true);
    expect(openFiles("w1")).toContain(join(root, "a.img"));
    // xm top's VBD lines count the guest's requests: one write, one read back.
    expect(xmOk(root, "top", "-b", "-i", "1", "-x")).toMatch(/\n\s*VBD BlkBack 51712  OO: +0   RD: +1   WR: +1\n/);
  });

  it("a read-only disk refuses the guest's write; the file is unchanged", async () => {
    writeFileSync(join(root, "r1.cfg"), `name = "r1"\nkernel = "sim:disk"\nmemory = 32\ndisk = [ 'file:${root}/ro.img,xvda,r' ]\n`);
    xmOk(root, "create", join(root, "r1.cfg"));
    await onConsole("r1", "sim-disk: xvda: pass 1: write of 8 sectors at sector 0 (disk of 128 sectors) failed: read-only device (EROFS)\n");
    expect(file("ro.img").equals(Buffer.alloc(SIZE))).toBe(true);
    await typeIn("r1", "lsblk");
    await onConsole("r1", `NAME    DEVID    SECTORS MODE RD WR\nxvda    51712        128 ro   0 0\n`);
    xmOk(root, "destroy", "r1");
  });

  it("block-attach reaches the running guest: it writes to the new disk; block-detach closes it", async () => {
    writeFileSync(join(root, "h1.cfg"), `name = "h1"\nkernel = "sim:disk"\nmemory = 32\nextra = "disk=xvdb sector=2 count=4"\ndisk = [ 'file:${root}/c.img,xvda,w' ]\n`);
    xmOk(root, "create", join(root, "h1.cfg"));
    await onConsole("h1", "sim-disk: xvdb: waiting for the disk (xm block-attach)\n");

    expect(xm(root, "block-attach", "h1", `file:${root}/b.img`, "xvdb", "w")).toEqual({ code: 0, stdout: "", stderr: "" });
    await onConsole("h1", "sim-disk: xvdb: pass 1: wrote 4 sectors at sector 2, read back identical\n");
    expect(file("b.img").subarray(2 * 512, 6 * 512).toString("latin1")).toBe([2, 3, 4, 5].map((s) => sector("xvdb", s, 1)).join(""));
    // The disk the guest did not ask for is untouched.
    expect(file("c.img").equals(Buffer.alloc(SIZE))).toBe(true);
    await typeIn("h1", "lsblk");
    await onConsole("h1", "xvda    51712        128 rw   0 0\nxvdb    51728        128 rw   4 4\n");

    // The runner cannot open it (/dev/tty: it has no controlling terminal): refused, config unchanged.
    const before = xmOk(root, "block-list", "h1");
    const tty = xm(root, "block-attach", "h1", "phy:/dev/tty", "xvdc", "r");
    expect(tty.code).toBe(1);
    expect(tty.stderr).toMatch(/^Error: disk xvdc: cannot open \/dev\/tty: ENXIO/);
    expect(xmOk(root, "block-list", "h1")).toBe(before);

    // Shown in xm list -l and on the legacy interface as they are now.
    const long = flat(xmOk(root, "list", "-l", "h1"));
    expect(long).toContain(`(device (vbd (uname file:${root}/c.img) (dev xvda) (mode w)))`);
    expect(long).toContain(`(device (vbd (uname file:${root}/b.img) (dev xvdb) (mode w)))`);
    const legacy = await legacyGet("/xend/domain/h1?detail=1");
    expect(legacy.status).toBe(200);
    expect(flat(legacy.body)).toContain(`(device (vbd (uname file:${root}/b.img) (dev xvdb) (mode w)))`);

    expect(openFiles("h1")).toContain(join(root, "b.img"));
    expect(xm(root, "block-detach", "h1", "xvdb")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(openFiles("h1")).not.toContain(join(root, "b.img"));
    await onConsole("h1", "sim-disk: xvdb: waiting for the disk (xm block-attach)\n");
    expect(flat(xmOk(root, "list", "-l", "h1"))).not.toContain("b.img");
    expect(flat((await legacyGet("/xend/domain/h1?detail=1")).body)).not.toContain("b.img");

    // Attached read-only, the same front end refuses the guest's second pass.
    const ro = file("ro.img");
    expect(xm(root, "block-attach", "h1", `file:${root}/ro.img`, "xvdb", "r")).toEqual({ code: 0, stdout: "", stderr: "" });
    await onConsole("h1", "sim-disk: xvdb: pass 2: write of 4 sectors at sector 2 (disk of 128 sectors) failed: read-only device (EROFS)\n");
    expect(file("ro.img").equals(ro)).toBe(true);
  });

  it("network-attach reaches the runner and shows in xm list -l and the legacy interface; network-detach removes it", async () => {
    expect(xm(root, "network-attach", "h1", "bridge=lo")).toEqual({ code: 0, stdout: "", stderr: "" });
    const long = flat(xmOk(root, "list", "-l", "h1"));
    const mac = /\(device \(vif \(mac (00:16:3e:[0-9a-f:]{8})\) \(bridge lo\)\)\)/.exec(long)?.[1];
    expect(mac, long).toBeDefined();
    expect(flat((await legacyGet("/xend/domain/h1?detail=1")).body)).toContain(`(device (vif (mac ${mac}) (bridge lo)))`);
    await typeIn("h1", "ip link");
    await onConsole("h1", `2: eth0: <BROADCAST,MULTICAST,UP>\n    link/ether ${mac}\n`);
    expect(xm(root, "network-detach", "h1", "0")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(flat(xmOk(root, "list", "-l", "h1"))).not.toContain("(vif");
    await typeIn("h1", "ip link");
    await onConsole("h1", "ip link\n1: lo: <LOOPBACK,UP>\n");
  });
});
