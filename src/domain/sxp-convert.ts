/**
 * Domains, their configs and the host in SXP, as xend 3.x wrote them on the legacy HTTP interface
 * (`XendConfig.to_sxp`, `XendNode.info`, `XendDomainInfo.getVCPUInfo`) and as libvirt's xend driver
 * built them for `op=create` (`(vm …)`). Used by the unix-server plugin and the relocation stream.
 *
 * Choices where xend gives no single answer, and why:
 * - Disks keep their config order even when vbd and tap devices are mixed (xend grouped by class,
 *   which would reorder a guest's disks on a round trip).
 * - `(vcpus N)` is the maximum number of vCPUs and `(vcpu_avail MASK)` marks the online ones, as
 *   xend 3.x did; a `(vm …)` without `vcpu_avail` has all N online.
 * - Values in `extraKeys` (keys this model does not know, e.g. `localtime`, `bootloader`,
 *   `description`) are written as `(key value)`, lists as `(key a b …)`; reading back gives a number
 *   for a canonical integer atom, a string for any other atom, and an array for several values (so a
 *   one-element list comes back as its element: SXP cannot tell them apart).
 * - Values xend always printed in a `(domain …)` record with a default (`cpu_weight 256`, `cpu_cap 0`,
 *   `on_xend_start ignore`, `on_xend_stop ignore`) are not kept when such a record is read back with
 *   that default; from a `(vm …)` every value given is kept.
 * - A `(vm …)` without `(memory …)` gets 128 MiB, xm's default; one without a kernel is refused
 *   (the simulated hypervisor cannot run a bootloader).
 */
import type { DomainAction, DomainConfig, DomainStateFlags, DomainSummary, NodeInfo, VifConfig } from "./types.ts";
import type { VcpuInfo } from "../hypervisor/driver.ts";
import { XvmError } from "../errors.ts";
import { child, childValue, children, float, isList, name, type Sxp, type SxpNode } from "../formats/sxp.ts";

const ACTIONS: readonly DomainAction[] = ["destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart"];

const VIF_KEYS = ["mac", "bridge", "script", "ip", "vifname", "model", "type", "backend", "rate", "accel"] as const satisfies readonly (keyof VifConfig)[];

/** Image options of xm configs that xend wrote inside `(image (<type> …))`, not at the top level. */
const IMAGE_KEYS = new Set([
  "device_model", "loader", "boot", "acpi", "apic", "pae", "hpet", "timer_mode", "viridian", "vpt_align",
  "fda", "fdb", "cdrom", "serial", "parallel", "soundhw", "usb", "usbdevice", "stdvga", "isa", "monitor",
  "nographic", "vnc", "vncdisplay", "vncunused", "vnclisten", "vncconsole", "vncpasswd", "sdl", "display",
  "xauthority", "keymap", "guest_os_type", "pci_msitranslate", "pci_power_mgmt",
]);

/** Devices kept in `extraKeys[type]` as xm's `"k=v,k=v"` strings. */
const KV_DEVICES = ["vfb", "vtpm", "console", "ioports", "irq", "vscsi"];

/** Defaults xend always printed in a `(domain …)` record for keys kept in `extraKeys`. */
const PRINTED_DEFAULTS: Record<string, string> = {
  cpu_weight: "256",
  cpu_cap: "0",
};

const XEND_START = ["ignore", "start"] as const;
const XEND_STOP = ["ignore", "shutdown", "suspend"] as const;

/** Keys written from the typed fields or computed at runtime: never taken from or put into extraKeys. */
const RESERVED = new Set([
  "domid", "uuid", "vcpus", "name", "on_poweroff", "on_reboot", "on_crash", "maxmem", "memory", "cpus",
  "vcpu_avail", "start_time", "cpu_time", "online_vcpus", "image", "status", "state", "device",
  "store_mfn", "console_mfn", "memory_dynamic_min", "memory_dynamic_max", "cpu", "builder",
  "on_xend_start", "on_xend_stop", "description",
  ...Object.keys(PRINTED_DEFAULTS), ...KV_DEVICES, "pci",
]);

// ---------------------------------------------------------------------------------------------
// States

/** The flags of a state string such as `-b----`; unknown characters read as clear. */
export function flagsFromState(state: string): DomainStateFlags {
  const has = (i: number, c: string) => state[i] === c;
  return { running: has(0, "r"), blocked: has(1, "b"), paused: has(2, "p"), shutdown: has(3, "s"), crashed: has(4, "c"), dying: has(5, "d") };
}

/**
 * xend's `status`, the XenAPI power state: 0 halted, 1 paused, 2 running, 3 suspended, 4 shutting
 * down. A crashed or dying domain is reported as 4: it is on its way out, as in xend 3.1.
 */
export function powerState(d: Pick<DomainSummary, "domid" | "flags">): number {
  if (d.domid === null) return 0;
  if (d.flags.shutdown || d.flags.crashed || d.flags.dying) return 4;
  if (d.flags.paused) return 1;
  return 2;
}

// ---------------------------------------------------------------------------------------------
// Writing

function vcpuAvail(online: number): string {
  return ((1n << BigInt(Math.max(0, online))) - 1n).toString();
}

function extraValue(v: unknown): Sxp | Sxp[] | undefined {
  if (typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (Array.isArray(v)) {
    const items = v.map(extraValue);
    return items.every((i) => i !== undefined) ? (items as Sxp[]) : undefined;
  }
  return undefined;
}

/** `(key value)`, or `(key a b …)` for a list; undefined when the value cannot be written. */
function extraItem(key: string, v: unknown): Sxp | undefined {
  const value = extraValue(v);
  if (value === undefined) return undefined;
  return Array.isArray(value) ? [key, ...value] : [key, value];
}

function diskDevice(spec: string): Sxp {
  // xm's "uname,dev,mode[,backend]"; anything else is passed on whole as the uname.
  const parts = spec.split(",");
  if (parts.length < 3 || parts.length > 4) return ["device", ["vbd", ["uname", spec]]];
  const [uname, dev, mode, backend] = parts;
  const kind = uname!.startsWith("tap:") ? "tap" : "vbd";
  const items: Sxp[] = [kind, ["uname", uname!], ["dev", dev!], ["mode", mode!]];
  if (backend) items.push(["backend", backend]);
  return ["device", items];
}

function vifDevice(vif: VifConfig): Sxp {
  const items: Sxp[] = ["vif"];
  for (const k of VIF_KEYS) if (vif[k] !== undefined) items.push([k, vif[k]!]);
  return ["device", items];
}

function kvDevice(type: string, spec: string): Sxp {
  const items: Sxp[] = [type];
  for (const part of spec.split(",")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    items.push(eq < 0 ? [part, "1"] : [part.slice(0, eq), part.slice(eq + 1)]);
  }
  return ["device", items];
}

function pciDevice(spec: string): Sxp | undefined {
  const m = /^(?:([0-9a-fA-F]{1,4}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})\.([0-7])$/.exec(spec);
  if (!m) return undefined;
  const hex = (s: string | undefined, w: number) => "0x" + (s ?? "0").toLowerCase().padStart(w, "0");
  return ["device", ["pci", ["dev", ["domain", hex(m[1], 4)], ["bus", hex(m[2], 2)], ["slot", hex(m[3], 2)], ["func", hex(m[4], 1)]]]];
}

function imageSxp(c: DomainConfig): Sxp {
  const type = typeof c.extraKeys?.builder === "string" ? c.extraKeys.builder : "linux";
  const items: Sxp[] = [type, ["kernel", c.kernel]];
  if (c.ramdisk !== undefined) items.push(["ramdisk", c.ramdisk]);
  if (c.extra !== undefined) items.push(["args", c.extra]);
  if (c.root !== undefined) items.push(["root", c.root]);
  for (const [k, v] of Object.entries(c.extraKeys ?? {})) {
    if (!IMAGE_KEYS.has(k)) continue;
    const item = extraItem(k, v);
    if (item) items.push(item);
  }
  return ["image", items];
}

function deviceItems(c: DomainConfig): Sxp[] {
  const out: Sxp[] = [];
  for (const vif of c.vif) out.push(vifDevice(vif));
  for (const disk of c.disk) out.push(diskDevice(disk));
  const extra = c.extraKeys ?? {};
  for (const type of ["vfb", "pci", ...KV_DEVICES.filter((t) => t !== "vfb")]) {
    const specs = extra[type];
    if (!Array.isArray(specs)) continue;
    for (const spec of specs) {
      if (typeof spec !== "string") continue;
      const dev = type === "pci" ? pciDevice(spec) : kvDevice(type, spec);
      if (dev) out.push(dev);
    }
  }
  return out;
}

function topLevelExtras(c: DomainConfig): Sxp[] {
  const out: Sxp[] = [];
  for (const [k, v] of Object.entries(c.extraKeys ?? {})) {
    if (RESERVED.has(k) || IMAGE_KEYS.has(k) || k === "bootloader" || k === "bootloader_args") continue;
    const item = extraItem(k, v);
    if (item) out.push(item);
  }
  return out;
}

function keyed(c: DomainConfig, key: string): Sxp | undefined {
  const v = c.extraKeys?.[key];
  return v === undefined ? undefined : extraItem(key, v);
}

/** `(vm …)`: a domain config as libvirt sent it to `op=create` (and the relocation stream carries). */
export function configToSxp(c: DomainConfig): Sxp {
  const out: Sxp[] = ["vm", ["name", c.name]];
  if (c.uuid !== undefined) out.push(["uuid", c.uuid]);
  out.push(["memory", c.memory]);
  if (c.maxmem !== undefined) out.push(["maxmem", c.maxmem]);
  out.push(["vcpus", c.maxvcpus ?? c.vcpus]);
  if (c.maxvcpus !== undefined) out.push(["vcpu_avail", vcpuAvail(c.vcpus)]);
  if (c.cpus !== undefined) out.push(["cpus", c.cpus]);
  out.push(["on_poweroff", c.on_poweroff], ["on_reboot", c.on_reboot], ["on_crash", c.on_crash]);
  for (const k of ["bootloader", "bootloader_args", ...Object.keys(PRINTED_DEFAULTS)]) {
    const item = keyed(c, k);
    if (item) out.push(item);
  }
  if (c.on_xend_start !== undefined) out.push(["on_xend_start", c.on_xend_start]);
  if (c.on_xend_stop !== undefined) out.push(["on_xend_stop", c.on_xend_stop]);
  if (c.description !== undefined) out.push(["description", c.description]);
  out.push(...topLevelExtras(c), imageSxp(c), ...deviceItems(c));
  return out;
}

/**
 * `(domain …)` as `GET /xend/domain/<dom>` answered: the fields libvirt parses, in xend 3.1's order.
 * Memory values are the current ones (xend printed the balloon target), vCPUs the maximum with the
 * online ones in `vcpu_avail`/`online_vcpus`.
 */
export function domainToSxp(d: DomainSummary): Sxp {
  const c = d.config;
  const active = d.domid !== null;
  const out: Sxp[] = ["domain"];
  if (active) out.push(["domid", d.domid!]);
  out.push(["uuid", d.uuid], ["vcpus", d.maxvcpus], ["name", d.name]);
  out.push(["on_poweroff", c.on_poweroff], ["on_reboot", c.on_reboot], ["on_crash", c.on_crash]);
  for (const k of ["bootloader", "bootloader_args"]) {
    const item = keyed(c, k);
    if (item) out.push(item);
  }
  out.push(["maxmem", d.maxmem], ["memory", d.memory]);
  out.push(["vcpu_avail", vcpuAvail(d.vcpus)]);
  for (const [k, dflt] of Object.entries(PRINTED_DEFAULTS)) out.push(keyed(c, k) ?? [k, dflt]);
  out.push(["on_xend_start", c.on_xend_start ?? "ignore"], ["on_xend_stop", c.on_xend_stop ?? "ignore"]);
  if (active) out.push(["start_time", float(d.startTime)]);
  out.push(["cpu_time", float(d.cpuTime)], ["online_vcpus", d.vcpus]);
  if (c.cpus !== undefined) out.push(["cpus", c.cpus]);
  if (c.description !== undefined) out.push(["description", c.description]);
  out.push(...topLevelExtras(c));
  // Domain-0 runs no kernel of ours: xend printed no image for it.
  if (c.kernel !== "") out.push(imageSxp(c));
  out.push(["status", powerState(d)]);
  if (active) out.push(["state", d.state]);
  out.push(...deviceItems(c));
  return out;
}

/** The answer to `op=vcpuinfo`; `nrCpus` fills the cpumap of vCPUs that may run anywhere. */
export function vcpuInfoToSxp(d: DomainSummary, nrCpus: number): Sxp {
  const out: Sxp[] = ["domain"];
  if (d.domid !== null) out.push(["domid", d.domid]);
  out.push(["name", d.name], ["vcpu_count", d.maxvcpus]);
  if (d.domid === null) return out;
  const all = Array.from({ length: nrCpus }, (_, i) => i);
  const byNumber = new Map(d.vcpuInfo.map((v) => [v.number, v]));
  for (let i = 0; i < d.maxvcpus; i++) {
    const v = byNumber.get(i);
    // Xen reported offline vCPUs with cpu -1 and no time; the simulator may not list them at all.
    out.push([
      "vcpu",
      ["number", i],
      ["online", v?.online ? 1 : 0],
      ["blocked", v?.blocked ? 1 : 0],
      ["running", v?.running ? 1 : 0],
      ["cpu_time", float((v?.cpuTimeNs ?? 0) / 1e9)],
      ["cpu", v?.cpu ?? -1],
      ["cpumap", v && v.affinity.length > 0 ? v.affinity : all],
    ]);
  }
  return out;
}

/**
 * `(node …)` as `GET /xend/node/` answered: the domain manager's node info (what `xm info` shows,
 * xend 3.4's fields with `xend_config_format 4`), one `(key value)` per field in its order.
 */
export function nodeToSxp(info: NodeInfo): Sxp {
  return ["node", ...Object.entries(info).map(([k, v]): Sxp => [k, v])];
}

// ---------------------------------------------------------------------------------------------
// Reading

function bad(detail: string): XvmError {
  return new XvmError("DOMAIN_CONFIG", { detail });
}

function atom(node: SxpNode, key: string): string | undefined {
  const v = childValue(node, key);
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw bad(`(${key} …) must hold a single value`);
  return v;
}

function int(node: SxpNode, key: string): number | undefined {
  const v = atom(node, key);
  if (v === undefined) return undefined;
  if (!/^\s*[+-]?\d+\s*$/.test(v)) throw bad(`(${key} ${v}): not an integer`);
  const n = Number.parseInt(v, 10);
  if (!Number.isSafeInteger(n)) throw bad(`(${key} ${v}): out of range`);
  return n;
}

function oneOf<T extends string>(node: SxpNode, key: string, allowed: readonly T[]): T | undefined {
  const v = atom(node, key);
  if (v === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(v)) throw bad(`(${key} ${v}): expected one of ${allowed.join(", ")}`);
  return v as T;
}

function action(node: SxpNode, key: string, dflt: DomainAction): DomainAction {
  const v = atom(node, key);
  if (v === undefined) return dflt;
  if (!(ACTIONS as readonly string[]).includes(v)) throw bad(`(${key} ${v}): expected one of ${ACTIONS.join(", ")}`);
  return v as DomainAction;
}

/** An extraKeys value from an SXP item's values. */
function extraFrom(values: SxpNode[]): unknown {
  const conv = (v: SxpNode): unknown => (typeof v === "string" && /^(0|-?[1-9]\d{0,14})$/.test(v) ? Number(v) : v);
  return values.length === 1 ? conv(values[0]!) : values.map(conv);
}

function popcount(mask: string): number {
  let n = BigInt(mask);
  let count = 0;
  while (n > 0n) {
    count += Number(n & 1n);
    n >>= 1n;
  }
  return count;
}

function flatPairs(dev: SxpNode[]): [string, string][] | undefined {
  const out: [string, string][] = [];
  for (const item of dev.slice(1)) {
    if (!isList(item) || item.length !== 2 || typeof item[0] !== "string" || typeof item[1] !== "string") return undefined;
    out.push([item[0], item[1]]);
  }
  return out;
}

function readDevice(dev: SxpNode, c: DomainConfig, extra: Record<string, unknown>): void {
  if (!isList(dev)) throw bad("(device …) must hold a list such as (vbd …)");
  const type = name(dev);
  if (type === "vbd" || type === "tap") {
    const uname = atom(dev, "uname");
    const devName = atom(dev, "dev");
    if (uname === undefined || devName === undefined) throw bad(`(device (${type} …)) needs (uname …) and (dev …)`);
    const backend = atom(dev, "backend");
    c.disk.push([uname, devName, atom(dev, "mode") ?? "r", ...(backend ? [backend] : [])].join(","));
    return;
  }
  if (type === "vif") {
    const vif: VifConfig = {};
    for (const k of VIF_KEYS) {
      const v = atom(dev, k);
      if (v !== undefined) vif[k] = v;
    }
    c.vif.push(vif);
    return;
  }
  if (type === "pci") {
    const list = (extra.pci as string[] | undefined) ?? [];
    for (const d of children(dev, "dev")) {
      const part = (k: string, w: number) => {
        const v = atom(d, k) ?? "0";
        const n = Number.parseInt(v, v.startsWith("0x") ? 16 : 10);
        if (!Number.isInteger(n)) throw bad(`(device (pci (dev (${k} ${v})))): not a number`);
        return n.toString(16).padStart(w, "0");
      };
      list.push(`${part("domain", 4)}:${part("bus", 2)}:${part("slot", 2)}.${part("func", 1)}`);
    }
    extra.pci = list;
    return;
  }
  const pairs = type === undefined ? undefined : flatPairs(dev);
  if (type === undefined || pairs === undefined) throw bad(`unsupported device ${JSON.stringify(dev).slice(0, 80)}`);
  const list = (extra[type] as string[] | undefined) ?? [];
  list.push(pairs.map(([k, v]) => `${k}=${v}`).join(","));
  extra[type] = list;
}

/**
 * A domain config from `(vm …)` (libvirt's create/new) or `(domain …)` (what GET answered).
 * Throws `DOMAIN_CONFIG` with a message naming the offending item.
 */
export function configFromSxp(node: SxpNode): DomainConfig {
  const head = name(node);
  if (!isList(node) || (head !== "vm" && head !== "domain")) throw bad("expected a (vm …) or (domain …) config");
  const nm = atom(node, "name");
  if (!nm) throw bad(`(${head} …) has no (name …)`);
  const image = child(node, "image");
  const img = image ? children(image).find(isList) : undefined;
  // A (domain …) without an image is Domain-0's; a (vm …) to create must name a kernel.
  const kernel = (img ? atom(img, "kernel") : undefined) ?? (head === "domain" ? "" : undefined);
  if (kernel === undefined || (head === "vm" && kernel === "")) throw bad(`(${head} …) has no kernel: give (image (linux (kernel …)))`);
  const extra: Record<string, unknown> = {};
  const c: DomainConfig = {
    name: nm,
    memory: int(node, "memory") ?? 128,
    vcpus: int(node, "vcpus") ?? 1,
    kernel,
    on_poweroff: action(node, "on_poweroff", "destroy"),
    on_reboot: action(node, "on_reboot", "restart"),
    on_crash: action(node, "on_crash", "restart"),
    vif: [],
    disk: [],
  };
  const uuid = atom(node, "uuid");
  if (uuid !== undefined) c.uuid = uuid;
  const maxmem = int(node, "maxmem");
  if (maxmem !== undefined) c.maxmem = maxmem;
  const avail = atom(node, "vcpu_avail");
  if (avail !== undefined) {
    if (!/^\d+$/.test(avail)) throw bad(`(vcpu_avail ${avail}): not a bit mask`);
    c.maxvcpus = c.vcpus;
    c.vcpus = popcount(avail);
  }
  const cpus = atom(node, "cpus");
  if (cpus !== undefined) c.cpus = cpus;
  const record = head === "domain";
  const xendStart = oneOf(node, "on_xend_start", XEND_START);
  if (xendStart !== undefined && !(record && xendStart === "ignore")) c.on_xend_start = xendStart;
  const xendStop = oneOf(node, "on_xend_stop", XEND_STOP);
  if (xendStop !== undefined && !(record && xendStop === "ignore")) c.on_xend_stop = xendStop;
  const description = atom(node, "description");
  if (description !== undefined) c.description = description;
  const type = name(img);
  if (type !== undefined && type !== "linux") extra.builder = type;
  for (const item of img ? children(img) : []) {
    if (!isList(item) || typeof item[0] !== "string") continue;
    const k = item[0];
    if (k === "kernel") continue;
    const v = atom(img!, k);
    if (k === "ramdisk" && v !== undefined) c.ramdisk = v;
    else if (k === "args" && v !== undefined) c.extra = v;
    else if (k === "root" && v !== undefined) c.root = v;
    else extra[k] = extraFrom(item.slice(1));
  }
  for (const item of children(node)) {
    if (!isList(item) || typeof item[0] !== "string") continue;
    const k = item[0];
    if (k === "device") {
      readDevice(item[1]!, c, extra);
      continue;
    }
    if (RESERVED.has(k) && !(k in PRINTED_DEFAULTS)) continue;
    const values = item.slice(1);
    if (record && k in PRINTED_DEFAULTS && values.length === 1 && values[0] === PRINTED_DEFAULTS[k]) continue;
    extra[k] = extraFrom(values);
  }
  if (Object.keys(extra).length > 0) c.extraKeys = extra;
  return c;
}

/** What a `(domain …)` SXP carries of a {@link DomainSummary} (not `managed`, `pid`, `vcpuInfo`). */
export type DomainSxpInfo = Omit<DomainSummary, "managed" | "pid" | "vcpuInfo">;

function num(node: SxpNode, key: string): number | undefined {
  const v = atom(node, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw bad(`(${key} ${v}): not a number`);
  return n;
}

/** Reads back what {@link domainToSxp} wrote (a client's view of `GET /xend/domain/<dom>`). */
export function domainFromSxp(node: SxpNode): DomainSxpInfo {
  if (name(node) !== "domain") throw bad("expected (domain …)");
  const config = configFromSxp(node);
  const domid = int(node, "domid") ?? null;
  const state = atom(node, "state") ?? "------";
  const vcpus = int(node, "online_vcpus") ?? config.vcpus;
  const maxvcpus = int(node, "vcpus") ?? vcpus;
  const memory = int(node, "memory") ?? config.memory;
  return {
    domid,
    name: config.name,
    uuid: config.uuid ?? "",
    memory,
    maxmem: int(node, "maxmem") ?? memory,
    vcpus,
    maxvcpus,
    state,
    flags: flagsFromState(state),
    cpuTime: num(node, "cpu_time") ?? 0,
    startTime: num(node, "start_time") ?? 0,
    config,
  };
}

/** Reads back what {@link vcpuInfoToSxp} wrote. */
export function vcpuInfoFromSxp(node: SxpNode): VcpuInfo[] {
  return children(node, "vcpu").map((v) => {
    const map = childValue(v, "cpumap");
    return {
      number: int(v, "number") ?? 0,
      online: atom(v, "online") === "1",
      blocked: atom(v, "blocked") === "1",
      running: atom(v, "running") === "1",
      cpuTimeNs: Math.round((num(v, "cpu_time") ?? 0) * 1e9),
      cpu: int(v, "cpu") ?? -1,
      affinity: isList(map) ? map.map((x) => Number(x)) : [],
    };
  });
}
