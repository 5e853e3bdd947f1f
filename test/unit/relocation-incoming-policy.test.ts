/** What a migrated-in domain may carry (plugins/relocation/incoming-policy.ts). */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { admitIncoming, diskPath, parsePathsAllow } from "../../plugins/relocation/incoming-policy.ts";
import { checkPathsAllow } from "../../plugins/relocation/properties.ts";
import type { DomainConfig } from "../../src/domain/types.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-incoming-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cfg(more: Partial<DomainConfig> = {}): DomainConfig {
  return { name: "g1", memory: 32, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [], ...more };
}

describe("incoming policy", () => {
  it("reads the host path of every disk form", () => {
    expect(diskPath("file:/xen/a.img,xvda,w")).toBe("/xen/a.img");
    expect(diskPath("phy:/dev/dsk/c0t0d0s0,hda,w")).toBe("/dev/dsk/c0t0d0s0");
    expect(diskPath("tap:aio:/xen/b.img,xvdb,r")).toBe("/xen/b.img");
    expect(diskPath("phy:sda,xvda,w")).toBe("sda");
  });

  it("allows paths inside the folders only, after .. and symbolic links", () => {
    const images = join(dir, "images");
    mkdirSync(images);
    writeFileSync(join(dir, "secret"), "");
    symlinkSync(join(dir, "secret"), join(images, "link.img"));
    const allow = parsePathsAllow(`${images}/ /other`);
    expect(allow).toEqual([images, "/other"]);
    expect(() => admitIncoming(cfg({ disk: [`file:${images}/a.img,xvda,w`] }), allow)).not.toThrow();
    expect(() => admitIncoming(cfg({ disk: [`file:${images}/../secret,xvda,w`] }), allow)).toThrow("is outside config/xend-relocation-paths-allow");
    expect(() => admitIncoming(cfg({ disk: [`file:${images}/link.img,xvda,w`] }), allow)).toThrow(`leads to ${join(dir, "secret")}, outside`);
    expect(() => admitIncoming(cfg({ disk: [`file:${images}x/a.img,xvda,w`] }), allow)).toThrow("is outside");
    expect(() => admitIncoming(cfg({ disk: ["phy:sda,xvda,w"] }), allow)).toThrow("sda is not an absolute path");
    expect(() => admitIncoming(cfg({ kernel: "/boot/vmlinuz" }), allow)).toThrow("kernel /boot/vmlinuz is outside");
    expect(() => admitIncoming(cfg({ ramdisk: "/etc/shadow" }), [])).toThrow("ramdisk /etc/shadow is a host path, and config/xend-relocation-paths-allow allows none");
    expect(checkPathsAllow("/a relative")).toBe("'relative' is not an absolute folder (give absolute folders separated by spaces)");
  });

  it("refuses host devices and too many vifs; drops what only an administrator may set", () => {
    expect(() => admitIncoming(cfg({ extraKeys: { pci: ["0000:03:00.0"] } }), [])).toThrow("it asks for host devices (pci)");
    expect(() => admitIncoming(cfg({ vif: Array.from({ length: 9 }, () => ({})) }), [])).toThrow("it has 9 vifs; at most 8 may come in");
    const { config, dropped } = admitIncoming(cfg({ on_xend_start: "start", on_xend_stop: "shutdown", extraKeys: { bootloader: "/usr/bin/pygrub", cpu_weight: 256 }, vif: [{ script: "/tmp/x", bridge: "br0" }] }), []);
    expect(dropped).toEqual(["on_xend_start start", "on_xend_stop shutdown", "bootloader", "vif 0 script /tmp/x"]);
    expect(config.on_xend_start).toBeUndefined();
    expect(config.extraKeys).toEqual({ cpu_weight: 256 });
    expect(config.vif).toEqual([{ bridge: "br0" }]);
  });
});
