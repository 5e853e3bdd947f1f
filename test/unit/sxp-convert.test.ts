import { describe, expect, it } from "vitest";
import type { DomainConfig, DomainSummary } from "../../src/domain/types.ts";
import {
  configFromSxp, configToSxp, domainFromSxp, domainToSxp, flagsFromState, nodeToSxp, powerState, vcpuInfoFromSxp, vcpuInfoToSxp,
} from "../../src/domain/sxp-convert.ts";
import { XvmError } from "../../src/errors.ts";
import { child, childValue, parse, show } from "../../src/formats/sxp.ts";

/** Every field of DomainConfig set, with values that need quoting, escapes and devices. */
const FULL_CONFIG: DomainConfig = {
  name: "web1",
  uuid: "5d6f0c8e-1111-4222-8333-444455556666",
  memory: 512,
  maxmem: 1024,
  vcpus: 2,
  maxvcpus: 4,
  cpus: "0-3,^1",
  kernel: "sim:memwriter",
  ramdisk: "/boot/initrd-2.6.18-xen.img",
  extra: "rate=64M wss=256M console='hvc0'",
  root: "/dev/xvda1 ro",
  on_poweroff: "preserve",
  on_reboot: "rename-restart",
  on_crash: "coredump-restart",
  on_xend_start: "start",
  on_xend_stop: "shutdown",
  description: "web server «eu-1»\nsecond line",
  vif: [
    {
      mac: "00:16:3e:00:00:01", bridge: "xenbr0", script: "vif-bridge", ip: "10.0.0.2", vifname: "vif-web1", model: "e1000",
      type: "ioemu", backend: "0", rate: "10MB/s", accel: "netfront",
    },
    {},
  ],
  disk: ["phy:/dev/vg/web1,xvda,w", "tap:aio:/var/img/data disk.img,xvdb,r", "file:/iso/x.iso,hdc:cdrom,r,0"],
  extraKeys: {
    localtime: 1,
    bootloader: "/usr/bin/pygrub",
    bootloader_args: "-q",
    cpu_weight: 512,
    cpu_cap: 50,
    shadow_memory: 8,
    vnc: 1,
    vncdisplay: 5,
    vfb: ["type=vnc,vncunused=1,vnclisten=127.0.0.1"],
    vtpm: ["instance=1,backend=0"],
    pci: ["0000:00:1d.0", "0001:0a:02.7"],
    cpuid: ["a", "b"],
  },
};

function summary(config: DomainConfig, over: Partial<DomainSummary> = {}): DomainSummary {
  return {
    domid: 7,
    name: config.name,
    uuid: config.uuid!,
    memory: config.memory,
    maxmem: config.maxmem ?? config.memory,
    vcpus: config.vcpus,
    maxvcpus: config.maxvcpus ?? config.vcpus,
    state: "-b----",
    flags: flagsFromState("-b----"),
    cpuTime: 12.375,
    startTime: 1700000123.5,
    managed: false,
    config,
    vcpuInfo: [],
    ...over,
  };
}


describe("(vm …) configs", () => {
  it("round-trips every DomainConfig field through text", () => {
    const text = show(configToSxp(FULL_CONFIG));
    expect(configFromSxp(parse(text))).toEqual(FULL_CONFIG);
  });

  it("round-trips a minimal config without inventing fields", () => {
    const min: DomainConfig = { name: "a", memory: 128, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [] };
    const text = show(configToSxp(min));
    expect(text).toBe("(vm (name a) (memory 128) (vcpus 1) (on_poweroff destroy) (on_reboot restart) (on_crash restart) (image (linux (kernel sim:idle))))");
    expect(configFromSxp(parse(text))).toEqual(min);
  });

  it("writes the devices and image the way xend and libvirt did", () => {
    const text = show(configToSxp(FULL_CONFIG));
    expect(text).toContain("(image (linux (kernel sim:memwriter) (ramdisk /boot/initrd-2.6.18-xen.img) (args \"rate=64M wss=256M console='hvc0'\") (root '/dev/xvda1 ro') (vnc 1) (vncdisplay 5)))");
    expect(text).toContain("(device (vbd (uname phy:/dev/vg/web1) (dev xvda) (mode w)))");
    expect(text).toContain("(device (tap (uname 'tap:aio:/var/img/data disk.img') (dev xvdb) (mode r)))");
    expect(text).toContain("(device (vbd (uname file:/iso/x.iso) (dev hdc:cdrom) (mode r) (backend 0)))");
    expect(text).toContain("(device (pci (dev (domain 0x0000) (bus 0x00) (slot 0x1d) (func 0x0))))");
    expect(text).toContain("(device (vfb (type vnc) (vncunused 1) (vnclisten 127.0.0.1)))");
    expect(text).toContain("(vcpus 4) (vcpu_avail 3) (cpus '0-3,^1')");
  });

  it("reads the create SXP libvirt built", () => {
    const libvirt = "(vm (name 'guest')(memory 256)(maxmem 512)(vcpus 2)(cpus '0-1')(uuid 'c7a5fdbd-edaf-9455-926a-d65c16db1809')" +
      "(on_poweroff 'destroy')(on_reboot 'restart')(on_crash 'restart')" +
      "(image (linux (kernel '/boot/vmlinuz')(ramdisk '/boot/initrd')(args 'root=/dev/xvda1 console=hvc0')))" +
      "(device (vbd (dev 'xvda')(uname 'phy:/dev/vg/guest')(mode 'w')))" +
      "(device (vif (mac '00:16:3e:5b:1a:c7')(bridge 'xenbr0')(script 'vif-bridge'))))";
    expect(configFromSxp(parse(libvirt))).toEqual({
      name: "guest", uuid: "c7a5fdbd-edaf-9455-926a-d65c16db1809", memory: 256, maxmem: 512, vcpus: 2, cpus: "0-1",
      kernel: "/boot/vmlinuz", ramdisk: "/boot/initrd", extra: "root=/dev/xvda1 console=hvc0",
      on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart",
      vif: [{ mac: "00:16:3e:5b:1a:c7", bridge: "xenbr0", script: "vif-bridge" }],
      disk: ["phy:/dev/vg/guest,xvda,w"],
    });
  });

  it("reads hvm images and keeps their options", () => {
    const c = configFromSxp(parse("(vm (name h) (image (hvm (kernel /usr/lib/xen/boot/hvmloader) (boot c) (acpi 1) (device_model /usr/lib/xen/bin/qemu-dm))))"));
    expect(c.kernel).toBe("/usr/lib/xen/boot/hvmloader");
    expect(c.extraKeys).toEqual({ builder: "hvm", boot: "c", acpi: 1, device_model: "/usr/lib/xen/bin/qemu-dm" });
    expect(show(configToSxp(c))).toContain("(image (hvm (kernel /usr/lib/xen/boot/hvmloader) (boot c) (acpi 1) (device_model /usr/lib/xen/bin/qemu-dm)))");
  });

  it("refuses bad configs with a message naming the item", () => {
    const err = (text: string) => {
      try {
        configFromSxp(parse(text));
      } catch (e) {
        expect(e).toBeInstanceOf(XvmError);
        expect((e as XvmError).code).toBe("DOMAIN_CONFIG");
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    const k = "(image (linux (kernel sim:idle)))";
    expect(err(`(vm (memory 1) ${k})`)).toBe("(vm …) has no (name …)");
    expect(err("(vm (name a))")).toBe("(vm …) has no kernel: give (image (linux (kernel …)))");
    expect(err(`(vm (name a) (memory lots) ${k})`)).toBe("(memory lots): not an integer");
    expect(err(`(vm (name a) (memory (1)) ${k})`)).toBe("(memory …) must hold a single value");
    expect(err(`(vm (name a) (on_crash explode) ${k})`)).toBe("(on_crash explode): expected one of destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart");
    expect(err(`(vm (name a) (vcpu_avail x) ${k})`)).toBe("(vcpu_avail x): not a bit mask");
    expect(err(`(vm (name a) ${k} (device (vbd (mode w))))`)).toBe("(device (vbd …)) needs (uname …) and (dev …)");
    expect(err(`(vm (name a) ${k} (device (usb (port (a b)))))`)).toMatch(/^unsupported device/);
    expect(err("(domains)")).toBe("expected a (vm …) or (domain …) config");
  });
});

describe("(domain …) records", () => {
  it("round-trips every field a domain SXP carries", () => {
    const d = summary(FULL_CONFIG);
    expect(show(domainToSxp(d))).toContain("(on_xend_start start) (on_xend_stop shutdown) (start_time 1700000123.5)");
    const back = domainFromSxp(parse(show(domainToSxp(d))));
    const { managed: _m, vcpuInfo: _v, pid: _p, ...carried } = d;
    expect(back).toEqual(carried);
  });

  it("round-trips paused, crashed, dying and inactive domains", () => {
    for (const state of ["--p---", "----c-", "-----d", "r-----", "---s--"]) {
      const d = summary(FULL_CONFIG, { state, flags: flagsFromState(state), domid: 12 });
      expect(domainFromSxp(parse(show(domainToSxp(d))))).toMatchObject({ state, flags: flagsFromState(state), domid: 12 });
    }
    const inactive = summary(FULL_CONFIG, { domid: null, state: "------", flags: flagsFromState("------"), startTime: 0, cpuTime: 0 });
    const text = show(domainToSxp(inactive));
    expect(text).not.toContain("(domid");
    expect(text).not.toContain("(state");
    expect(text).not.toContain("(start_time");
    expect(text).toContain("(status 0)");
    expect(domainFromSxp(parse(text))).toMatchObject({ domid: null, state: "------", cpuTime: 0, startTime: 0 });
  });

  it("writes the fields libvirt parses, in xend 3.1's order", () => {
    const d = summary({ ...FULL_CONFIG, extraKeys: undefined, on_xend_start: undefined, on_xend_stop: undefined, description: undefined, vif: [], disk: ["phy:/dev/vg/web1,xvda,w"] }, { memory: 384 });
    expect(show(domainToSxp(d))).toBe(
      "(domain (domid 7) (uuid 5d6f0c8e-1111-4222-8333-444455556666) (vcpus 4) (name web1) (on_poweroff preserve) " +
      "(on_reboot rename-restart) (on_crash coredump-restart) (maxmem 1024) (memory 384) (vcpu_avail 3) (cpu_weight 256) " +
      "(cpu_cap 0) (on_xend_start ignore) (on_xend_stop ignore) (start_time 1700000123.5) (cpu_time 12.375) (online_vcpus 2) " +
      "(cpus '0-3,^1') (image (linux (kernel sim:memwriter) (ramdisk /boot/initrd-2.6.18-xen.img) " +
      "(args \"rate=64M wss=256M console='hvc0'\") (root '/dev/xvda1 ro'))) (status 2) (state -b----) " +
      "(device (vbd (uname phy:/dev/vg/web1) (dev xvda) (mode w))))",
    );
  });

  it("prints cpu_time and start_time as Python floats (12 significant digits)", () => {
    const d = summary(FULL_CONFIG, { cpuTime: 0, startTime: 1700000123.456789 });
    const sx = domainToSxp(d);
    expect(show(child(sx as never, "cpu_time")!)).toBe("(cpu_time 0.0)");
    expect(show(child(sx as never, "start_time")!)).toBe("(start_time 1700000123.46)");
  });

  it("maps states to xend's status numbers", () => {
    const s = (state: string, domid: number | null = 1) => powerState({ domid, flags: flagsFromState(state) });
    expect([s("r-----"), s("-b----"), s("------"), s("--p---"), s("---s--"), s("----c-"), s("-----d"), s("------", null)]).toEqual([2, 2, 2, 1, 4, 4, 4, 0]);
  });

  it("reads a domain record exactly as xend 3.1 printed it", () => {
    const xend = "(domain (domid 1) (uuid 0b2ab1a6-33ac-d8b3-5e8a-7b95e8e8d1a4) (vcpus 1) (name guest1) " +
      "(on_poweroff destroy) (on_reboot restart) (on_crash restart) (maxmem 256) (memory 256) " +
      "(shadow_memory 0) (cpu_weight 256) (cpu_cap 0) (features ) (on_xend_start ignore) (on_xend_stop ignore) " +
      "(start_time 1187884153.19) (cpu_time 3.546447389) (online_vcpus 1) " +
      "(image (linux (kernel /boot/vmlinuz-2.6.18-xen) (args 'root=/dev/sda1 ro'))) (status 2) (state -b----) " +
      "(store_mfn 196619) (console_mfn 196618) (device (vif (backend 0) (script vif-bridge) (mac 00:16:3e:5b:1a:c7))))";
    const d = domainFromSxp(parse(xend));
    expect(d).toMatchObject({ domid: 1, name: "guest1", memory: 256, maxmem: 256, vcpus: 1, maxvcpus: 1, state: "-b----", cpuTime: 3.546447389, startTime: 1187884153.19 });
    expect(d.config).toMatchObject({ kernel: "/boot/vmlinuz-2.6.18-xen", extra: "root=/dev/sda1 ro", vif: [{ script: "vif-bridge", mac: "00:16:3e:5b:1a:c7" }], extraKeys: { shadow_memory: 0, features: [] } });
  });

  it("writes Domain-0 without an image and reads it back", () => {
    const dom0 = summary({ ...FULL_CONFIG, name: "Domain-0", kernel: "", extraKeys: undefined, vif: [], disk: [] }, { domid: 0, state: "r-----", flags: flagsFromState("r-----") });
    const text = show(domainToSxp(dom0));
    expect(text).not.toContain("(image");
    expect(domainFromSxp(parse(text)).config.kernel).toBe("");
  });
});

describe("vcpuinfo and node SXP", () => {
  it("writes vcpuinfo as SrvDomain did and reads it back", () => {
    const d = summary(FULL_CONFIG, {
      vcpus: 2,
      maxvcpus: 3,
      vcpuInfo: [
        { number: 0, online: true, running: true, blocked: false, cpuTimeNs: 1_500_000_000, cpu: 2, affinity: [2, 3] },
        { number: 1, online: true, running: false, blocked: true, cpuTimeNs: 250_000_000, cpu: 1, affinity: [] },
      ],
    });
    const sx = vcpuInfoToSxp(d, 4);
    expect(show(sx)).toBe(
      "(domain (domid 7) (name web1) (vcpu_count 3) " +
      "(vcpu (number 0) (online 1) (blocked 0) (running 1) (cpu_time 1.5) (cpu 2) (cpumap (2 3))) " +
      "(vcpu (number 1) (online 1) (blocked 1) (running 0) (cpu_time 0.25) (cpu 1) (cpumap (0 1 2 3))) " +
      "(vcpu (number 2) (online 0) (blocked 0) (running 0) (cpu_time 0.0) (cpu -1) (cpumap (0 1 2 3))))",
    );
    expect(vcpuInfoFromSxp(parse(show(sx)))).toEqual([
      d.vcpuInfo[0],
      { ...d.vcpuInfo[1], affinity: [0, 1, 2, 3] },
      { number: 2, online: false, running: false, blocked: false, cpuTimeNs: 0, cpu: -1, affinity: [0, 1, 2, 3] },
    ]);
  });

  it("answers only the header for an inactive domain", () => {
    expect(show(vcpuInfoToSxp(summary(FULL_CONFIG, { domid: null }), 4))).toBe("(domain (name web1) (vcpu_count 4))");
  });

  it("writes the domain manager's node info as (node …), fields in its order", () => {
    const info = { host: "host1", release: "5.10.0", version: "#1 SMP Debian", nr_cpus: 8, hw_caps: "", node_to_cpu: "node0:0-7", xen_caps: "xen-3.0-x86_64 hvm-3.0-x86_64", xend_config_format: 4 };
    const text = show(nodeToSxp(info));
    expect(text).toBe("(node (host host1) (release 5.10.0) (version '#1 SMP Debian') (nr_cpus 8) (hw_caps '') (node_to_cpu node0:0-7) (xen_caps 'xen-3.0-x86_64 hvm-3.0-x86_64') (xend_config_format 4))");
    expect(childValue(parse(text), "xend_config_format")).toBe("4");
  });
});
