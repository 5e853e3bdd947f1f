/**
 * xm/xl domain config files to a {@link DomainConfig}: syntax from config-syntax.ts, meaning from
 * config-spec.ts. Every problem is reported as `file:line:column: message`, all of them at once;
 * unknown settings are warnings (xm ignored them too), wrong types and values are errors, and
 * nothing is created from a file with errors.
 */
import { basename } from "node:path";
import {
  CONFIG_DEFAULTS, checkDomainConfig, normalizeAction, parseVifSpec, type ConfigProblem,
} from "./config-spec.ts";
import {
  ConfigFileError, formatDiagnostic, parseOverride, runConfig,
  type ConfigEntry, type ConfigValue, type Diagnostic, type Position,
} from "./config-syntax.ts";
import type { DomainAction, DomainConfig, VifConfig } from "./types.ts";

export { ConfigFileError, formatDiagnostic, type Diagnostic };

type Kind = "string" | "int" | "action" | "strlist" | "cpus" | "any";

/** Settings with a meaning here. */
const KEYS: Record<string, Kind> = {
  name: "string",
  uuid: "string",
  description: "string",
  memory: "int",
  maxmem: "int",
  vcpus: "int",
  maxvcpus: "int",
  cpus: "cpus",
  kernel: "string",
  ramdisk: "string",
  extra: "string",
  root: "string",
  on_poweroff: "action",
  on_reboot: "action",
  on_crash: "action",
  on_xend_start: "string",
  on_xend_stop: "string",
  vif: "strlist",
  disk: "strlist",
};

/**
 * Settings xm knew that the simulated hypervisor has no use for: accepted without a warning and
 * kept (so they show in `xm list -l` and survive `xm new`), never acted on.
 */
const KEPT_KEYS = new Set([
  "shadow_memory", "vcpu_avail", "cpu", "cpu_cap", "cpu_weight", "bootloader", "bootargs", "builder", "features",
  "vfb", "vtpm", "pci", "ioports", "irq", "usbport", "ip", "gateway", "netmask", "hostname", "interface", "dhcp",
  "nfs_server", "nfs_root", "device_model", "boot", "pae", "acpi", "apic", "hap", "fda", "fdb", "serial", "monitor",
  "localtime", "keymap", "usb", "usbdevice", "stdvga", "isa", "nographic", "soundhw", "vnc", "vncdisplay", "vnclisten",
  "vncunused", "vncpasswd", "vncconsole", "vncviewer", "sdl", "display", "xauthority", "rtc_timeoffset", "blkif",
  "netif", "tpmif", "vscsi", "security", "type", "seclabel", "access_control", "cpuid", "cpuid_check", "timer_mode",
  "viridian", "hpet", "vpt_align", "guest_os_type", "superpages", "s3_integrity", "machine_address_size", "suppress_spurious_page_faults",
]);

function typeName(v: ConfigValue): string {
  if (v.kind === "list") return "a list";
  if (v.kind === "number") return `the number ${v.text}`;
  if (v.kind === "other") return `a ${v.type}`;
  return `the string '${v.value}'`;
}

export interface ParsedConfig {
  config: DomainConfig;
  /** `file:line:column: unknown setting 'x' (ignored)` and the like. */
  warnings: string[];
}

export interface ParseOptions {
  /** Name used in messages (usually the path as the user gave it). */
  source: string;
  /** Name of the domain when the file sets none: the file's name without `.cfg`, as xm did. */
  defaultName?: string;
  /** `var=value` arguments; they win over the file. */
  overrides?: readonly string[];
}

/** Parses and checks a config file's text. Throws {@link ConfigFileError} listing every error. */
export function parseDomainConfig(text: string, options: ParseOptions): ParsedConfig {
  // `var=value` arguments are variables the file can read (xm's `vmid=3`) and win over it.
  const overrides = (options.overrides ?? []).map((arg) => parseOverride(arg));
  const vars = new Map(overrides.map((o) => [o.key, o.raw ?? null] as const));
  const { entries, read } = runConfig(text, options.source, vars);
  return configFromEntries([...entries, ...overrides], options, read);
}

/** The entries of a parsed file (plus overrides, last wins) to a checked config. */
export function configFromEntries(entries: readonly ConfigEntry[], options: ParseOptions, helpers: ReadonlySet<string> = new Set()): ParsedConfig {
  const errors: Diagnostic[] = [];
  const inOrder = (a: Diagnostic, b: Diagnostic) =>
    a.source === b.source ? a.line - b.line || a.column - b.column : a.source === options.source ? -1 : b.source === options.source ? 1 : 0;
  const warnings: Diagnostic[] = [];
  const sourceOf = (e: ConfigEntry): string => e.source ?? options.source;
  const isOverride = (e: ConfigEntry): boolean => e.source !== undefined;

  const err = (e: ConfigEntry, pos: Position, message: string) =>
    errors.push({ source: sourceOf(e), line: pos.line, column: pos.column, message });
  const warn = (e: ConfigEntry, pos: Position, message: string) =>
    warnings.push({ source: sourceOf(e), line: pos.line, column: pos.column, message });

  const last = new Map<string, ConfigEntry>();
  for (const e of entries) {
    const previous = last.get(e.key);
    if (previous && !isOverride(e) && !e.conditional && !previous.conditional) {
      warn(e, e.keyPos, `'${e.key}' is set again (first at line ${previous.keyPos.line}); the last value wins`);
    }
    last.set(e.key, e);
  }

  const raw: Record<string, unknown> = {};
  const extraKeys: Record<string, unknown> = {};
  /** Where each field's value came from, to report problems found later at the right place. */
  const where = new Map<string, { entry: ConfigEntry; pos: Position }>();
  let vifs: VifConfig[] = [];
  let disks: string[] = [];

  for (const e of last.values()) {
    const kind = KEYS[e.key];
    const v = e.value;
    where.set(e.key, { entry: e, pos: v.pos });
    if (kind === undefined) {
      if (KEPT_KEYS.has(e.key)) extraKeys[e.key] = plain(v);
      else if (e.key === "restart") warn(e, e.keyPos, "'restart' is deprecated and ignored; use on_poweroff, on_reboot and on_crash");
      else if (!helpers.has(e.key) && v.kind !== "other") warn(e, e.keyPos, `unknown setting '${e.key}' (ignored)`);
      continue;
    }
    switch (kind) {
      case "string":
        if (v.kind !== "string") err(e, v.pos, `${e.key} must be a string in quotes, not ${typeName(v)}`);
        else raw[e.key] = v.value;
        break;
      case "int":
        // create.py's set_int took int(value): memory = "128" is 128.
        if (v.kind === "string" && /^\s*[-+]?\d+\s*$/.test(v.value) && Number.isSafeInteger(Number(v.value))) raw[e.key] = Number(v.value);
        else if (v.kind !== "number") err(e, v.pos, `${e.key} must be a whole number${e.key.includes("mem") ? " of MiB" : ""}, not ${typeName(v)}`);
        else if (!Number.isInteger(v.value)) err(e, v.pos, `${e.key} must be a whole number, not ${v.text}`);
        else raw[e.key] = v.value;
        break;
      case "action":
        if (v.kind !== "string") err(e, v.pos, `${e.key} must be a string in quotes, not ${typeName(v)}`);
        else {
          const action = normalizeAction(v.value);
          if (!action) err(e, v.pos, `${e.key} = '${v.value}' is not an action; use one of destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart`);
          else raw[e.key] = action;
        }
        break;
      case "cpus":
        if (v.kind === "number" && Number.isInteger(v.value)) raw[e.key] = String(v.value);
        else if (v.kind === "string") raw[e.key] = v.value;
        else err(e, v.pos, `cpus must be a string such as '0-3,^1', not ${typeName(v)}`);
        break;
      case "strlist": {
        if (v.kind !== "list") {
          err(e, v.pos, `${e.key} must be a list of strings like [ '…' ], not ${typeName(v)}`);
          break;
        }
        const items: string[] = [];
        v.items.forEach((item, i) => {
          where.set(`${e.key}[${i}]`, { entry: e, pos: item.pos });
          if (item.kind !== "string") err(e, item.pos, `${e.key}[${i}] must be a string in quotes, not ${typeName(item)}`);
          else items.push(item.value);
        });
        if (e.key === "vif") {
          vifs = [];
          v.items.forEach((item, i) => {
            if (item.kind !== "string") return;
            const { vif, problems } = parseVifSpec(item.value);
            for (const p of problems) err(e, item.pos, `vif[${i}]: ${p}`);
            vifs.push(vif);
          });
        } else {
          disks = items;
        }
        break;
      }
      case "any":
        raw[e.key] = plain(v);
    }
  }

  const config: DomainConfig = {
    name: (raw.name as string | undefined) ?? options.defaultName ?? "",
    memory: (raw.memory as number | undefined) ?? CONFIG_DEFAULTS.memory,
    vcpus: (raw.vcpus as number | undefined) ?? CONFIG_DEFAULTS.vcpus,
    kernel: (raw.kernel as string | undefined) ?? "",
    on_poweroff: (raw.on_poweroff as DomainAction | undefined) ?? CONFIG_DEFAULTS.on_poweroff,
    on_reboot: (raw.on_reboot as DomainAction | undefined) ?? CONFIG_DEFAULTS.on_reboot,
    on_crash: (raw.on_crash as DomainAction | undefined) ?? CONFIG_DEFAULTS.on_crash,
    vif: vifs,
    disk: disks,
  };
  for (const key of ["uuid", "description", "maxmem", "maxvcpus", "cpus", "ramdisk", "extra", "root", "on_xend_start", "on_xend_stop"] as const) {
    if (raw[key] !== undefined) (config as unknown as Record<string, unknown>)[key] = raw[key];
  }
  if (Object.keys(extraKeys).length > 0) config.extraKeys = extraKeys;

  // Meaning checks run only on fields that parsed, so one mistake is reported once.
  if (errors.length === 0) {
    for (const problem of checkDomainConfig(config)) {
      const at = locate(problem, where);
      if (at) errors.push({ source: sourceOf(at.entry), line: at.pos.line, column: at.pos.column, message: `${problem.field} ${problem.message}` });
      else errors.push({ source: options.source, line: 1, column: 1, message: `${problem.field} ${problem.message}${problem.field === "name" && !where.has("name") ? " (set name = \"…\")" : ""}` });
    }
  }
  if (errors.length > 0) {
    throw new ConfigFileError(errors.sort(inOrder));
  }
  return { config, warnings: warnings.sort(inOrder).map(formatDiagnostic) };
}

function locate(problem: ConfigProblem, where: Map<string, { entry: ConfigEntry; pos: Position }>) {
  // vif[1].mac -> vif[1] -> vif
  let field = problem.field;
  for (;;) {
    const at = where.get(field);
    if (at) return at;
    const cut = Math.max(field.lastIndexOf("."), field.lastIndexOf("["));
    if (cut <= 0) return undefined;
    field = field.slice(0, cut);
  }
}

function plain(v: ConfigValue): unknown {
  if (v.kind === "list") return v.items.map(plain);
  if (v.kind === "other") return undefined;
  return v.value;
}

/** `web1.cfg` -> `web1`, as xm named a domain after its config file. */
export function nameFromFile(path: string): string {
  return basename(path).replace(/\.(cfg|conf|xm)$/i, "");
}
