/**
 * Block and network devices (issue 15.2) through the compiled binary on the sim driver: a missing
 * disk is refused at create naming it; block-list's columns; block-attach/detach and
 * network-attach/detach change what block-list and network-list show; bridge= must name a link.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { listMap, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

let root: string;
let xend: Xend | undefined;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-devices-e2e-"), { relocation: false });
  writeFileSync(join(root, "d1.img"), Buffer.alloc(65536));
  writeFileSync(join(root, "d2.img"), Buffer.alloc(65536));
  writeFileSync(join(root, "disk.cfg"), `name = "disk1"\nkernel = "sim:idle"\nmemory = 32\ndisk = [ 'file:${root}/d1.img,xvda,w' ]\n`);
  writeFileSync(join(root, "nobridge.cfg"), `name = "nobr1"\nkernel = "sim:idle"\nmemory = 32\nvif = [ 'mac=00:16:3e:00:07:01, bridge=lo', 'bridge=xvm-no-such-br' ]\n`);
  writeFileSync(join(root, "missing.cfg"), `name = "miss1"\nkernel = "sim:idle"\nmemory = 32\ndisk = [ 'file:${root}/d1.img,xvda,w', 'phy:/dev/xvm-no-such-disk,xvdb,r' ]\n`);
  xend = await startXend(root);
}, 60_000);

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

const row = (devid: number, domid: string) => `${devid}    0    ${devid}   4      -1     -1    /local/domain/0/backend/vbd/${domid}/${devid}  \n`;

describe("disks", () => {
  it("refuses at create a disk whose device does not exist, naming it; nothing is created", () => {
    const before = listMap(root);
    expect(xm(root, "create", join(root, "missing.cfg"))).toEqual({
      code: 1,
      stdout: `Using config file "${join(root, "missing.cfg")}".\n`,
      stderr: "Error: Domain 'miss1': disk[1] 'phy:/dev/xvm-no-such-disk,xvdb,r': device /dev/xvm-no-such-disk does not exist (the vbd for xvdb could not be connected)\n",
    });
    expect(listMap(root)).toEqual(before);
  });

  it("refuses at create a vif whose bridge is not a link of this host, naming it; nothing is created", () => {
    const before = listMap(root);
    const r = xm(root, "create", join(root, "nobridge.cfg"));
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: `Using config file "${join(root, "nobridge.cfg")}".\n` });
    expect(r.stderr).toMatch(/^Error: Domain 'nobr1': vif\[1\]: bridge=xvm-no-such-br: no such link on this host \(xvm dladm show-link lists lo(, [\w.@-]+)*\)\n$/);
    expect(listMap(root)).toEqual(before);
  });

  it("lists, attaches and detaches disks", () => {
    xmOk(root, "create", join(root, "disk.cfg"));
    const domid = listMap(root).disk1!.split(" ")[0]!;
    expect(xmOk(root, "block-list", "disk1")).toBe(`Vdev  BE handle state evt-ch ring-ref BE-path\n${row(51712, domid)}`);
    expect(xm(root, "block-attach", "disk1", `file:${root}/d2.img`, "xvdb", "r")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(xmOk(root, "block-list", "disk1")).toBe(`Vdev  BE handle state evt-ch ring-ref BE-path\n${row(51712, domid)}${row(51728, domid)}`);
    const long = xmOk(root, "block-list", "-l", "disk1");
    expect(long).toMatch(/^\(51712\n/);
    expect(long).toContain("\n(51728\n");
    expect(long.replace(/\s+/g, " ")).toContain(`(vbd (dev xvdb) (uname file:${root}/d2.img) (mode r) (backend 0)`);
    expect(xm(root, "block-attach", "disk1", `file:${root}/d3.img`, "xvdc", "r")).toEqual({
      code: 1, stdout: "",
      stderr: `Error: Domain 'disk1': disk 'file:${root}/d3.img,xvdc,r': file ${root}/d3.img does not exist (the vbd for xvdc could not be connected)\n`,
    });
    expect(xm(root, "block-attach", "disk1", `file:${root}/d2.img`, "xvdb", "r").stderr).toBe("Error: Domain 'disk1' already has a disk at xvdb (device 51728)\n");
    expect(xm(root, "block-detach", "disk1", "51728")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(xm(root, "block-detach", "disk1", "xvdb")).toEqual({ code: 1, stdout: "", stderr: "Error: Device xvdb not connected\n" });
    expect(xmOk(root, "block-list", "disk1")).toBe(`Vdev  BE handle state evt-ch ring-ref BE-path\n${row(51712, domid)}`);
  });
});

describe("network interfaces", () => {
  it("attaches a vif on an existing link, refuses a bridge that does not exist, detaches", () => {
    expect(xm(root, "network-attach", "disk1", "bridge=xvmnosuch0")).toMatchObject({
      code: 1, stdout: "", stderr: expect.stringMatching(/^Error: bridge=xvmnosuch0: no such link on this host \(xvm dladm show-link lists .*\blo\b.*\)\n$/),
    });
    expect(xm(root, "network-attach", "disk1", "bridge=lo", "mac=00:16:3e:00:00:42")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(xmOk(root, "network-list", "disk1")).toContain("\n0   0  00:16:3e:00:00:42    0     4  ");
    expect(xm(root, "network-detach", "disk1", "0")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(xmOk(root, "network-list", "disk1")).toBe("");
    expect(xm(root, "network-detach", "disk1", "0")).toEqual({ code: 1, stdout: "", stderr: "Error: Device 0 not connected\n" });
  });
});
