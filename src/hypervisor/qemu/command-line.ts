/**
 * An xm domain config to a qemu-system-x86_64 command line, the way xVM users wrote configs:
 * PV-style `kernel`/`ramdisk`/`extra`/`root` boot the kernel directly; `builder = 'hvm'` boots the
 * firmware from `disk` in `boot` order. Every guest gets the devices the driver relies on (QMP
 * monitor, serial console with a log, virtio-balloon, pvpanic) and QEMU's hardening options.
 * Settings xm knew that QEMU cannot honour are refused by name rather than silently dropped.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { XvmError } from "../../errors.ts";
import type { GuestSpec } from "../driver.ts";
import { diskSlot, pciAddr, vifSlot } from "./pci-slots.ts";

/**
 * The parts of the domain manager's config (domain/types.ts DomainConfig, kept in the guest's
 * meta) the command line is made from; declared here so the driver does not import the domain layer.
 */
export interface VifConfig {
  mac?: string;
  bridge?: string;
  vifname?: string;
}

export interface DomainConfig {
  name: string;
  kernel: string;
  ramdisk?: string;
  extra?: string;
  root?: string;
  vif: VifConfig[];
  disk: string[];
  extraKeys?: Record<string, unknown>;
}

/** Files in a guest's run directory (0700). */
export const QMP_SOCKET = "qmp.sock";
export const CONSOLE_SOCKET = "console.sock";
export const CONSOLE_LOG = "console.log";
export const GUEST_STATE = "guest.json";

/** QEMU's seccomp sandbox: no obsolete syscalls, no setuid, no spawning, no scheduler/resource changes. */
export const SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

/** Extra config keys the qemu driver acts on. */
const HONOURED = new Set(["builder", "boot", "vnc", "vncdisplay", "vnclisten", "vncunused", "vfb", "device_model"]);
/**
 * Keys accepted and ignored: they tuned Xen things that have no QEMU meaning here (scheduler
 * weights are set with xm sched-credit, PAE/APIC/ACPI are always on for QEMU's pc machine).
 */
const IGNORED = new Set([
  "cpu_weight", "cpu_cap", "pae", "acpi", "apic", "hap", "localtime", "keymap", "serial", "shadow_memory",
  "vcpu_avail", "features", "rtc_timeoffset", "guest_os_type", "timer_mode", "viridian", "hpet", "vpt_align",
  "stdvga", "nographic", "sdl", "display", "xauthority", "vncconsole", "vncviewer", "vncpasswd", "monitor", "type",
  "superpages", "s3_integrity", "machine_address_size", "suppress_spurious_page_faults", "usb", "blkif", "netif",
]);

export interface QemuSettings {
  binary: string;
  /** Resolved accelerator: `kvm` or `tcg`. */
  accel: "kvm" | "tcg";
}

export interface Tap {
  ifname: string;
  bridge?: string;
  mac: string;
}

export interface CommandLine {
  argv: string[];
  /** Tap devices the driver must create (and put on their bridge) before QEMU starts. */
  taps: Tap[];
  /** The guest's RAM size given to QEMU (the balloon shrinks it to the memory target). */
  bootKiB: number;
}

/** The domain config the domain manager keeps in the guest's meta (see domain/manager.ts). */
export function configOf(spec: GuestSpec): DomainConfig | undefined {
  const config = (spec.meta as { config?: DomainConfig } | undefined)?.config;
  return config && typeof config === "object" && typeof config.name === "string" ? config : undefined;
}

function bad(spec: GuestSpec, detail: string): never {
  throw new XvmError("DOMAIN_CONFIG", { detail: `domain ${spec.name}: ${detail}` });
}

/** `file:/x.img,xvda,w` (also `phy:`, `tap:aio:`) to its parts. */
export function parseDisk(entry: string): { kind: string; path: string; vdev: string; mode: string; cdrom: boolean } {
  const [target = "", vdevRaw = "", mode = "r"] = entry.split(",").map((p) => p.trim());
  const colon = target.lastIndexOf(":");
  const kind = colon > 0 ? target.slice(0, target.indexOf(":")) : "file";
  const path = colon > 0 ? target.slice(colon + 1) : target;
  const cdrom = vdevRaw.endsWith(":cdrom");
  return { kind, path, vdev: vdevRaw.replace(/:cdrom$/, ""), mode, cdrom };
}

function vncArgs(spec: GuestSpec, extra: Record<string, unknown>): string[] {
  const vfb = Array.isArray(extra.vfb) ? (extra.vfb as unknown[]).map(String) : [];
  const fromVfb = vfb.map((v) => Object.fromEntries(v.split(",").map((kv) => kv.trim().split("=").map((s) => s.trim()) as [string, string])));
  const vncVfb = fromVfb.find((f) => (f.type ?? "vnc") === "vnc");
  const wanted = Number(extra.vnc ?? 0) === 1 || vncVfb !== undefined;
  if (!wanted) return [];
  const listen = String(vncVfb?.vnclisten ?? extra.vnclisten ?? "127.0.0.1");
  if (!/^(127\.\d+\.\d+\.\d+|localhost|::1)$/.test(listen)) {
    bad(spec, `vnclisten '${listen}': QEMU's VNC server listens on a local address only (127.0.0.1); reach it through an SSH tunnel`);
  }
  const display = vncVfb?.vncdisplay ?? extra.vncdisplay;
  const unused = Number(vncVfb?.vncunused ?? extra.vncunused ?? 1) !== 0;
  const n = display !== undefined ? Number(display) : 0;
  if (!Number.isInteger(n) || n < 0 || n > 99) bad(spec, `vncdisplay '${display}' must be 0..99`);
  // vncunused (the default) takes the first free display from there, as xend's qemu-dm did.
  return ["-vnc", `${listen}:${n}${display === undefined || unused ? ",to=99" : ""}`, "-device", "VGA"];
}

function tapName(domid: number, index: number, vif: VifConfig): string {
  const name = vif.vifname ?? `vif${domid}.${index}`;
  return name;
}

/** Builds the command line; throws DOMAIN_CONFIG naming what QEMU cannot do. */
export function buildCommandLine(spec: GuestSpec, dir: string, settings: QemuSettings): CommandLine {
  const config = configOf(spec);
  const extra = (config?.extraKeys ?? {}) as Record<string, unknown>;
  const unsupported = Object.keys(extra).filter((k) => !HONOURED.has(k) && !IGNORED.has(k));
  if (unsupported.length > 0) bad(spec, `the qemu hypervisor does not support ${unsupported.map((k) => `'${k}'`).join(", ")} (remove ${unsupported.length > 1 ? "them" : "it"} from the config)`);
  const hvm = String(extra.builder ?? "linux") === "hvm";
  if (!hvm && extra.builder !== undefined && extra.builder !== "linux") bad(spec, `builder '${String(extra.builder)}' is not known (use 'hvm', or leave it out for a PV-style direct kernel boot)`);
  const bootKiB = Math.ceil(spec.maxMemKiB / 1024) * 1024;
  const mib = bootKiB / 1024;
  const machine = "pc";
  const argv: string[] = [
    "-name", `guest=${spec.name},debug-threads=on`,
    "-uuid", spec.uuid,
    "-machine", `${machine},memory-backend=ram0`,
    "-accel", settings.accel,
    "-object", `memory-backend-memfd,id=ram0,size=${mib}M,share=on`,
    "-m", `${mib}M`,
    "-smp", `cpus=${spec.vcpus},maxcpus=${spec.maxVcpus}`,
    "-nodefaults", "-no-user-config", "-display", "none",
    "-sandbox", SANDBOX,
    "-chardev", `socket,id=qmp,path=${join(dir, QMP_SOCKET)},server=on,wait=off`,
    "-mon", "chardev=qmp,mode=control",
    "-chardev", `socket,id=ser0,path=${join(dir, CONSOLE_SOCKET)},server=on,wait=off,logfile=${join(dir, CONSOLE_LOG)},logappend=on`,
    "-serial", "chardev:ser0",
    "-device", "virtio-balloon-pci,id=balloon0",
    "-device", "pvpanic",
    // The guest's own reboot stops it, so that xend runs on_reboot (a new domain, as on Xen); a
    // panic pauses it (state c) for on_crash; a poweroff keeps QEMU until xend destroys it.
    "-action", "reboot=shutdown,panic=pause",
    "-no-shutdown",
    // Always start stopped: xend attaches QMP and the console first, then continues (or not: -p).
    "-S",
    "-msg", "timestamp=on",
  ];
  if (!hvm) {
    const kernel = spec.kernel;
    if (!kernel.startsWith("/")) bad(spec, `kernel '${kernel}' must be an absolute path to a Linux kernel (the qemu hypervisor boots it directly)`);
    if (!existsSync(kernel) || !statSync(kernel).isFile()) bad(spec, `kernel '${kernel}' does not exist`);
    argv.push("-kernel", kernel);
    const ramdisk = config?.ramdisk;
    if (ramdisk) {
      if (!existsSync(ramdisk)) bad(spec, `ramdisk '${ramdisk}' does not exist`);
      argv.push("-initrd", ramdisk);
    }
    const parts: string[] = [];
    if (config?.root) parts.push(`root=${config.root}`);
    if (spec.extra) parts.push(spec.extra);
    let append = parts.join(" ");
    // The console xend reads is the first serial port.
    if (!/(^|\s)console=/.test(append)) append = `console=ttyS0 ${append}`.trim();
    argv.push("-append", append);
  } else {
    const boot = String(extra.boot ?? "c");
    if (!/^[acdn]+$/.test(boot)) bad(spec, `boot '${boot}' must be letters of a (floppy), c (disk), d (CD-ROM), n (network)`);
    argv.push("-boot", `order=${boot}`);
  }
  const slots = new Set<number>();
  (config?.disk ?? []).forEach((entry, i) => {
    const d = parseDisk(entry);
    if (!["file", "phy", "tap", "aio"].includes(d.kind)) bad(spec, `disk[${i}] '${entry}': type '${d.kind}' is not supported (use file: or phy:)`);
    if (!d.path.startsWith("/")) bad(spec, `disk[${i}] '${entry}': the path must be absolute`);
    if (!existsSync(d.path)) bad(spec, `disk[${i}] '${entry}': ${d.path} does not exist`);
    const readonly = d.mode === "r" ? "on" : "off";
    if (d.cdrom) argv.push("-drive", `file=${d.path.replace(/,/g, ",,")},media=cdrom,if=ide,index=${2 + (i % 2)},readonly=on`);
    else {
      // A fixed slot (pci-slots.ts), so a restore or migration finds hot-plugged disks where they were.
      // (-drive if=virtio takes no address: the drive and its virtio-blk-pci device go separately.)
      const slot = diskSlot(d.vdev);
      const addr = slot !== undefined && !slots.has(slot) ? `,addr=${pciAddr(slot)}` : "";
      if (slot !== undefined) slots.add(slot);
      argv.push("-drive", `file=${d.path.replace(/,/g, ",,")},if=none,format=raw,readonly=${readonly},id=disk${i}`);
      argv.push("-device", `virtio-blk-pci,drive=disk${i}${addr}`);
    }
  });
  const taps: Tap[] = [];
  (config?.vif ?? []).forEach((vif, i) => {
    const mac = vif.mac;
    if (!mac) bad(spec, `vif[${i}] has no MAC address`);
    const ifname = tapName(spec.domid, i, vif);
    if (ifname.length > 15 || !/^[A-Za-z0-9_.-]+$/.test(ifname)) bad(spec, `vif[${i}] vifname '${ifname}' is not a valid interface name (at most 15 letters, digits, _ . -)`);
    taps.push({ ifname, bridge: vif.bridge, mac });
    argv.push("-netdev", `tap,id=net${i},ifname=${ifname},script=no,downscript=no`);
    const slot = vifSlot(i);
    argv.push("-device", `virtio-net-pci,netdev=net${i},mac=${mac}${slot !== undefined ? `,addr=${pciAddr(slot)}` : ""}`);
  });
  argv.push(...vncArgs(spec, extra));
  return { argv, taps, bootKiB };
}
