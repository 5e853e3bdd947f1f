/**
 * What a domain config may say, checked the same way whether it came from an xm config file (the
 * parser reports problems at their line:column) or as JSON through the control API (problems are
 * reported by field name). Host-dependent limits (host memory, CPU numbers) are checked by the
 * domain manager when the domain is created.
 */
import { parseCpuList } from "./cpus.ts";
import type { DomainAction, DomainConfig, VifConfig } from "./types.ts";

export const DOMAIN_ACTIONS: readonly DomainAction[] = [
  "destroy", "restart", "preserve", "rename-restart", "coredump-destroy", "coredump-restart",
];

/** XenAPI spellings xend accepted for the same actions. */
const ACTION_ALIASES: Record<string, DomainAction> = {
  rename_restart: "rename-restart",
  coredump_and_destroy: "coredump-destroy",
  coredump_and_restart: "coredump-restart",
};

export function normalizeAction(word: string): DomainAction | undefined {
  if ((DOMAIN_ACTIONS as readonly string[]).includes(word)) return word as DomainAction;
  return ACTION_ALIASES[word];
}

/** Xen 3.x x86 guests had at most 32 vCPUs (MAX_VIRT_CPUS); the simulator keeps that limit. */
export const MAX_VCPUS = 32;
/** 1 TiB: far above any host this runs on; the host's real total is checked at creation. */
export const MAX_MEMORY_MIB = 1024 * 1024;
export const MAX_NAME_LENGTH = 64;
/** Xen's default number of network interfaces per domain (MAX_VIFS in xend's netif code). */
export const MAX_VIFS = 8;
/** Virtual block devices per domain: xvda … xvdp. */
export const MAX_DISKS = 16;
/** The guest's kernel command line (extra, root): Xen's MAX_GUEST_CMDLINE. */
export const MAX_CMDLINE = 1024;
/** Any other string of a config (a path, a description, a vif's option, a disk spec). */
export const MAX_CONFIG_STRING = 4096;
/** What all extraKeys (settings kept for round trips) may weigh together, as JSON. */
export const MAX_EXTRA_KEYS_BYTES = 64 * 1024;

/** xm's defaults ([3.1] xm/create.py and XendConfig._defaults). */
export const CONFIG_DEFAULTS = {
  memory: 128,
  vcpus: 1,
  on_poweroff: "destroy",
  on_reboot: "restart",
  on_crash: "restart",
} as const;

export const VIF_KEYS = ["type", "mac", "bridge", "ip", "script", "backend", "vifname", "rate", "model", "accel"] as const;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
/**
 * Names may hold letters, digits and `_ . : + @ -` (no spaces or slashes: names become file and
 * URL path parts), may not be all digits (they would read as a domid) nor look like a uuid.
 */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:+@-]*$/;

export function isUuid(text: string): boolean {
  return UUID_RE.test(text);
}

export function isValidMac(mac: string): boolean {
  return MAC_RE.test(mac);
}

/** Why `name` cannot be a domain name, or undefined when it can. */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "must not be empty";
  if (name.length > MAX_NAME_LENGTH) return `must be at most ${MAX_NAME_LENGTH} characters`;
  if (!NAME_RE.test(name)) return "may contain only letters, digits and _ . : + @ - (and must not start with one of . : + @ -)";
  if (/^[0-9]+$/.test(name)) return "must not be all digits (it would read as a domain id)";
  if (UUID_RE.test(name)) return "must not look like a uuid";
  if (name === "Domain-0") return "is reserved for the control domain";
  return undefined;
}

/** Parses one `vif` entry (`'mac=00:16:3e:00:00:01, bridge=br0'`); '' is a vif with defaults. */
export function parseVifSpec(spec: string): { vif: VifConfig; problems: string[] } {
  const vif: VifConfig = {};
  const problems: string[] = [];
  for (const raw of spec.split(",")) {
    const part = raw.trim();
    if (part === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) {
      problems.push(`'${part}' is not key=value`);
      continue;
    }
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!(VIF_KEYS as readonly string[]).includes(key)) {
      problems.push(`unknown vif option '${key}' (known: ${VIF_KEYS.join(", ")})`);
      continue;
    }
    (vif as Record<string, string>)[key] = value;
  }
  return { vif, problems };
}

export function formatVifSpec(vif: VifConfig): string {
  return Object.entries(vif).filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `${k}=${v}`).join(", ");
}

export interface ConfigProblem {
  /** Field the problem belongs to: `memory`, `vif[1].mac`, `disk[0]`. */
  field: string;
  message: string;
}

function checkInt(problems: ConfigProblem[], field: string, value: unknown, min: number, max: number, unit = ""): boolean {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    problems.push({ field, message: `must be a whole number${unit ? ` of ${unit}` : ""}` });
    return false;
  }
  if (value < min || value > max) {
    problems.push({ field, message: `must be between ${min} and ${max}${unit ? ` ${unit}` : ""}, not ${value}` });
    return false;
  }
  return true;
}

/** A value as it may appear in a message: control characters escaped, cut to a sane length. */
export function shown(value: string, max = 200): string {
  const escaped = value.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return escaped.length > max ? `${escaped.slice(0, max)}…` : escaped;
}

/** Every problem of a complete config, in field order. Empty means usable. */
export function checkDomainConfig(config: DomainConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const np = typeof config.name === "string" ? nameProblem(config.name) : "must be a string";
  if (np) problems.push({ field: "name", message: `'${config.name}' ${np}` });
  if (config.uuid !== undefined && !isUuid(config.uuid)) problems.push({ field: "uuid", message: `'${config.uuid}' is not a uuid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)` });
  const memOk = checkInt(problems, "memory", config.memory, 1, MAX_MEMORY_MIB, "MiB");
  if (config.maxmem !== undefined && checkInt(problems, "maxmem", config.maxmem, 1, MAX_MEMORY_MIB, "MiB") && memOk && config.maxmem < config.memory) {
    problems.push({ field: "maxmem", message: `(${config.maxmem} MiB) must not be below memory (${config.memory} MiB)` });
  }
  const vcpusOk = checkInt(problems, "vcpus", config.vcpus, 1, MAX_VCPUS);
  if (config.maxvcpus !== undefined && checkInt(problems, "maxvcpus", config.maxvcpus, 1, MAX_VCPUS) && vcpusOk && config.vcpus > config.maxvcpus) {
    problems.push({ field: "vcpus", message: `(${config.vcpus}) must not exceed maxvcpus (${config.maxvcpus})` });
  }
  if (config.cpus !== undefined) {
    try {
      if (parseCpuList(config.cpus).length === 0) problems.push({ field: "cpus", message: `'${config.cpus}' leaves no CPU to run on` });
    } catch (error) {
      problems.push({ field: "cpus", message: (error as Error).message });
    }
  }
  // The credit scheduler's cpu_weight (1..65535) and cpu_cap (0..100 per vCPU), numbers or numeric strings as xm took them.
  const schedValue = (key: "cpu_weight" | "cpu_cap", min: number, max: number, what: string) => {
    const raw = config.extraKeys?.[key];
    if (raw === undefined) return;
    const value = typeof raw === "number" ? raw : typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(value)) problems.push({ field: key, message: `must be a whole number (${what}), not ${typeof raw === "string" ? `'${shown(raw)}'` : String(raw)}` });
    else if (value < min || value > max) problems.push({ field: key, message: `${value} is out of range: give ${min} to ${max} (${what})` });
  };
  schedValue("cpu_weight", 1, 65535, "the credit scheduler's weight, default 256");
  if (vcpusOk) schedValue("cpu_cap", 0, 100 * config.vcpus, `percent of one CPU, 0 = no cap, at most 100 per vCPU`);
  // Configs written for real xVM hosts: say which setting cannot work here, and why.
  const bootloader = config.extraKeys?.bootloader;
  if (typeof bootloader === "string" && bootloader.trim() !== "") {
    problems.push({ field: "bootloader", message: `= '${shown(bootloader)}' is not supported: xvm boots the kernel (and ramdisk) named in the config directly; copy them out of the guest's disk and set kernel = and ramdisk =` });
  }
  if (typeof config.kernel === "string" && /^\/platform\/i86(xpv|pc)\//.test(config.kernel)) {
    problems.push({ field: "kernel", message: `'${shown(config.kernel)}' is a Solaris kernel path (/platform/i86xpv): a Solaris PV guest cannot boot on this host` });
  }
  if (typeof config.kernel !== "string" || config.kernel.trim() === "") {
    problems.push({ field: "kernel", message: "is required (for the simulated hypervisor: kernel = \"sim:idle\", \"sim:counter\" or \"sim:memwriter\")" });
  }
  for (const key of ["on_poweroff", "on_reboot", "on_crash"] as const) {
    if (!(DOMAIN_ACTIONS as readonly string[]).includes(config[key])) {
      problems.push({ field: key, message: `'${config[key]}' is not an action (one of ${DOMAIN_ACTIONS.join(", ")})` });
    }
  }
  if (config.on_xend_start !== undefined && !["ignore", "start"].includes(config.on_xend_start)) {
    problems.push({ field: "on_xend_start", message: `'${config.on_xend_start}' must be ignore or start` });
  }
  if (config.on_xend_stop !== undefined && !["ignore", "shutdown", "suspend"].includes(config.on_xend_stop)) {
    problems.push({ field: "on_xend_stop", message: `'${config.on_xend_stop}' must be ignore, shutdown or suspend` });
  }
  // Sizes (issue 13 §4): every string, list and the kept settings are bounded.
  for (const key of ["extra", "root"] as const) {
    const v = config[key];
    if (typeof v === "string" && v.length > MAX_CMDLINE) {
      problems.push({ field: key, message: `is ${v.length} characters long; the guest command line holds at most ${MAX_CMDLINE}` });
    }
  }
  for (const key of ["kernel", "ramdisk", "cpus", "description"] as const) {
    const v = config[key];
    if (typeof v === "string" && v.length > MAX_CONFIG_STRING) {
      problems.push({ field: key, message: `is ${v.length} characters long; at most ${MAX_CONFIG_STRING}` });
    }
  }
  if ((config.vif ?? []).length > MAX_VIFS) {
    problems.push({ field: "vif", message: `has ${config.vif.length} entries; a domain has at most ${MAX_VIFS} network interfaces` });
  }
  if ((config.disk ?? []).length > MAX_DISKS) {
    problems.push({ field: "disk", message: `has ${config.disk.length} entries; a domain has at most ${MAX_DISKS} disks` });
  }
  (config.vif ?? []).forEach((vif, i) => {
    for (const [key, value] of Object.entries(vif)) {
      if (typeof value === "string" && value.length > MAX_CONFIG_STRING) {
        problems.push({ field: `vif[${i}].${shown(key, 32)}`, message: `is ${value.length} characters long; at most ${MAX_CONFIG_STRING}` });
      }
    }
  });
  (config.disk ?? []).forEach((disk, i) => {
    if (typeof disk === "string" && disk.length > MAX_CONFIG_STRING) {
      problems.push({ field: `disk[${i}]`, message: `is ${disk.length} characters long; at most ${MAX_CONFIG_STRING}` });
    }
  });
  if (config.extraKeys !== undefined) {
    let bytes = Number.POSITIVE_INFINITY;
    try {
      bytes = Buffer.byteLength(JSON.stringify(config.extraKeys));
    } catch {
      // a cycle or a BigInt: not a config
    }
    if (bytes > MAX_EXTRA_KEYS_BYTES) {
      problems.push({ field: "extraKeys", message: `the other settings weigh ${Number.isFinite(bytes) ? `${bytes} bytes` : "more than can be stored"}; at most ${MAX_EXTRA_KEYS_BYTES}` });
    }
  }
  const macs = new Map<string, number>();
  (config.vif ?? []).forEach((vif, i) => {
    for (const key of Object.keys(vif)) {
      if (!(VIF_KEYS as readonly string[]).includes(key)) problems.push({ field: `vif[${i}]`, message: `unknown vif option '${key}'` });
    }
    if (vif.mac === undefined) return;
    if (!isValidMac(vif.mac)) {
      problems.push({ field: `vif[${i}].mac`, message: `'${vif.mac}' is not a MAC address (six hex pairs like 00:16:3e:01:02:03)` });
      return;
    }
    if (Number.parseInt(vif.mac.slice(0, 2), 16) & 1) {
      problems.push({ field: `vif[${i}].mac`, message: `'${vif.mac}' is a multicast address; a vif needs a unicast MAC (even first octet)` });
      return;
    }
    const lower = vif.mac.toLowerCase();
    const first = macs.get(lower);
    if (first !== undefined) problems.push({ field: `vif[${i}].mac`, message: `'${vif.mac}' is already used by vif ${first} of this domain` });
    else macs.set(lower, i);
  });
  (config.disk ?? []).forEach((disk, i) => {
    const parts = disk.split(",").map((p) => p.trim());
    if (parts.length < 3 || parts.length > 4 || parts.slice(0, 3).some((p) => p === "")) {
      problems.push({ field: `disk[${i}]`, message: `'${disk}' must be 'TYPE:PATH,VDEV,MODE' (e.g. 'file:/xen/web1.img,xvda,w')` });
    } else if (!/^(r|w|w!)$/.test(parts[2]!)) {
      problems.push({ field: `disk[${i}]`, message: `mode '${parts[2]}' must be r, w or w!` });
    }
  });
  return problems;
}
