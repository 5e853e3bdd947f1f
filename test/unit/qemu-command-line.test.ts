/** The xm config → qemu-system-x86_64 command line mapping (no QEMU needed). */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { GuestSpec } from "../../src/hypervisor/driver.ts";
import { resolveAccel } from "../../src/hypervisor/qemu/accel.ts";
import { SANDBOX, buildCommandLine, parseDisk, type DomainConfig } from "../../src/hypervisor/qemu/command-line.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-qemu-cl-"));
const kernel = join(dir, "vmlinuz");
const disk = join(dir, "disk.img");
writeFileSync(kernel, "k");
writeFileSync(disk, "d");

function spec(config: Partial<DomainConfig>, over: Partial<GuestSpec> = {}): GuestSpec {
  const full = { name: "g", memory: 128, vcpus: 1, kernel, on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [], ...config } as DomainConfig & { extra?: string };
  return {
    domid: 7, name: full.name, uuid: "11111111-2222-3333-4444-555555555555", memoryKiB: 128 * 1024, maxMemKiB: 256 * 1024,
    vcpus: 1, maxVcpus: 4, kernel: full.kernel, extra: full.extra ?? "", affinity: [], paused: false,
    meta: { xvm: 1, config: full }, ...over,
  };
}
const settings = { binary: "qemu-system-x86_64", accel: "tcg" as const };
const opt = (argv: string[], flag: string) => argv.filter((_, i) => argv[i - 1] === flag);

describe("qemu command line", () => {
  test("a PV-style config boots its kernel directly, hardened, with QMP, console, balloon and pvpanic", () => {
    const { argv, bootKiB, taps } = buildCommandLine(spec({ ramdisk: kernel, root: "/dev/vda1", extra: "quiet" }), "/run/g", settings);
    expect(bootKiB).toBe(256 * 1024);
    expect(taps).toEqual([]);
    expect(opt(argv, "-kernel")).toEqual([kernel]);
    expect(opt(argv, "-initrd")).toEqual([kernel]);
    expect(opt(argv, "-append")).toEqual(["console=ttyS0 root=/dev/vda1 quiet"]);
    expect(opt(argv, "-sandbox")).toEqual([SANDBOX]);
    expect(opt(argv, "-accel")).toEqual(["tcg"]);
    expect(opt(argv, "-m")).toEqual(["256M"]);
    expect(opt(argv, "-smp")).toEqual(["cpus=1,maxcpus=4"]);
    expect(argv).toEqual(expect.arrayContaining(["-nodefaults", "-no-user-config", "-S", "-no-shutdown"]));
    expect(opt(argv, "-chardev").join(" ")).toContain("path=/run/g/qmp.sock,server=on,wait=off");
    expect(opt(argv, "-device")).toEqual(["virtio-balloon-pci,id=balloon0", "pvpanic"]);
  });

  test("disks, vifs and VNC; HVM boots from disk in `boot` order", () => {
    const { argv, taps } = buildCommandLine(spec({
      disk: [`file:${disk},xvda,w`, `phy:${disk},hdc:cdrom,r`],
      vif: [{ mac: "00:16:3e:00:00:01", bridge: "xvmbr0" }],
      extraKeys: { builder: "hvm", boot: "dc", vnc: 1 },
    }), "/run/g", settings);
    expect(opt(argv, "-kernel")).toEqual([]);
    expect(opt(argv, "-boot")).toEqual(["order=dc"]);
    expect(opt(argv, "-drive")).toEqual([`file=${disk},if=none,format=raw,readonly=off,id=disk0`, `file=${disk},media=cdrom,if=ide,index=3,readonly=on`]);
    expect(opt(argv, "-device")).toContain("virtio-blk-pci,drive=disk0,addr=8.0");
    expect(taps).toEqual([{ ifname: "vif7.0", bridge: "xvmbr0", mac: "00:16:3e:00:00:01" }]);
    expect(opt(argv, "-netdev")).toEqual(["tap,id=net0,ifname=vif7.0,script=no,downscript=no"]);
    // Fixed PCI slots (pci-slots.ts): a restore or migration finds hot-plugged devices where they were.
    expect(opt(argv, "-device")).toContain("virtio-net-pci,netdev=net0,mac=00:16:3e:00:00:01,addr=18.0");
    expect(opt(argv, "-vnc")).toEqual(["127.0.0.1:0,to=99"]);
  });

  test("what QEMU cannot do is named", () => {
    expect(() => buildCommandLine(spec({ extraKeys: { pci: ["01:00.0"], vtpm: [] } }), "/d", settings)).toThrow("does not support 'pci', 'vtpm'");
    expect(() => buildCommandLine(spec({ disk: ["file:/nonexistent.img,xvda,w"] }), "/d", settings)).toThrow("/nonexistent.img does not exist");
    expect(() => buildCommandLine(spec({ kernel: "sim:idle" }), "/d", settings)).toThrow("must be an absolute path");
    expect(() => buildCommandLine(spec({ extraKeys: { vnc: 1, vnclisten: "0.0.0.0" } }), "/d", settings)).toThrow("local address only");
    expect(parseDisk("tap:aio:/x.img,xvdb,r")).toEqual({ kind: "tap", path: "/x.img", vdev: "xvdb", mode: "r", cdrom: false });
  });

  test("auto picks KVM only with hardware KVM modules", () => {
    expect(resolveAccel("tcg")).toBe("tcg");
    expect(resolveAccel("auto", join(dir, "no-such-sys-module"))).toBe("tcg");
    expect(() => resolveAccel("hvf")).toThrow("not auto, kvm or tcg");
  });
});
