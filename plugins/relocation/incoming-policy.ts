/**
 * What a domain arriving by migration may carry (issue 13 §1). The peer is another host holding
 * the relocation key, not this host's administrator, so its config is checked as `xm create` checks
 * an administrator's (checkDomainConfig, then the domain manager's host checks at creation), and
 * what only a local administrator may decide is refused or dropped:
 *
 * - **refused**: host paths outside `config/xend-relocation-paths-allow` (disks of any type —
 *   `phy:`, `file:`, `tap:` —, the kernel and the ramdisk: each gives the guest a file or device
 *   of this host); host devices (`pci`, `ioports`, `irq`, `usbport`, `vscsi`, `vtpm`); more than
 *   {@link MAX_VIFS} vifs or {@link MAX_DISKS} disks. Dropping any of these would start a guest
 *   other than the one that left, so the migration is refused and the guest stays at the source.
 * - **dropped, with a warning**: `on_xend_start` and `on_xend_stop` (they act on managed domains;
 *   a domain that arrives is never managed here), `bootloader`, `bootargs` and `device_model`
 *   (programs run on this host), and a vif's `script` (a host script; this host's default is
 *   used). The guest runs the same without them.
 *
 * Paths are compared after normalisation (`..` resolved) and, for files that exist, after
 * following symbolic links, so a link inside an allowed folder cannot point out of it.
 */
import { realpathSync } from "node:fs";
import { isAbsolute, normalize } from "node:path";
import { XvmError, type DomainConfig } from "xvm/plugin";

/** `config/xend-relocation-paths-allow`: the folders, normalised, in the order given. */
export function parsePathsAllow(value: string): string[] {
  return value.split(/\s+/).filter((p) => p !== "").map((p) => normalize(p).replace(/(?<=.)\/+$/, ""));
}

/** Xen's default limit of vifs per domain. */
export const MAX_VIFS = 8;
export const MAX_DISKS = 16;
/** `(device …)` entries in an incoming `(domain …)`, checked before it is even converted. */
export const MAX_DEVICES = 32;

const DROPPED_KEYS = ["bootloader", "bootargs", "device_model"] as const;
const HOST_DEVICE_KEYS = ["pci", "ioports", "irq", "usbport", "vscsi", "vtpm"] as const;

function inside(path: string, folders: readonly string[]): boolean {
  return folders.some((f) => f === "/" || path === f || path.startsWith(`${f}/`));
}

/** Why `path` may not be used by an incoming domain, or undefined when it may. */
function pathProblem(path: string, folders: readonly string[]): string | undefined {
  if (!isAbsolute(path)) return "is not an absolute path";
  const plain = normalize(path);
  if (!inside(plain, folders)) return folders.length ? `is outside config/xend-relocation-paths-allow (${folders.join(" ")})` : "is a host path, and config/xend-relocation-paths-allow allows none";
  let real: string | undefined;
  try {
    real = realpathSync(plain);
  } catch {
    return undefined; // does not exist (yet): nothing to follow
  }
  if (!inside(real, folders)) return `leads to ${real}, outside config/xend-relocation-paths-allow`;
  return undefined;
}

/** The host path a disk spec names: `file:/x.img,xvda,w` -> `/x.img`; `tap:aio:/x` -> `/x`. */
export function diskPath(spec: string): string {
  const target = spec.split(",")[0]!.trim();
  const colon = target.indexOf(":/");
  return colon >= 0 ? target.slice(colon + 1) : target.slice(target.lastIndexOf(":") + 1);
}

/** A kernel or ramdisk value that names a host file (the simulator's `sim:…` programs do not). */
function isHostFile(value: string): boolean {
  return !/^sim:/.test(value);
}

/** Counts `(device …)` entries of a `(domain …)` SXP before it is converted. */
export function countDevices(domain: unknown): number {
  return Array.isArray(domain) ? domain.filter((x) => Array.isArray(x) && x[0] === "device").length : 0;
}

export interface Admitted {
  config: DomainConfig;
  /** What was dropped, one phrase each, for the warning. */
  dropped: string[];
}

/**
 * Applies the rules above to a config that already passed checkDomainConfig. Throws
 * MIGRATE_REFUSED naming the first thing refused; returns the config with the dropped fields gone.
 */
export function admitIncoming(input: DomainConfig, pathsAllow: readonly string[]): Admitted {
  const config = structuredClone(input);
  const refuse = (detail: string): never => {
    throw new XvmError("MIGRATE_REFUSED", { detail: `domain ${config.name} is refused here: ${detail}` });
  };
  if (config.vif.length > MAX_VIFS) refuse(`it has ${config.vif.length} vifs; at most ${MAX_VIFS} may come in`);
  if (config.disk.length > MAX_DISKS) refuse(`it has ${config.disk.length} disks; at most ${MAX_DISKS} may come in`);
  config.disk.forEach((spec, i) => {
    const problem = pathProblem(diskPath(spec), pathsAllow);
    if (problem) refuse(`disk ${i} '${spec}': ${diskPath(spec)} ${problem}; only an administrator of this host may give a guest a host disk (xm create)`);
  });
  for (const key of ["kernel", "ramdisk"] as const) {
    const value = config[key];
    if (value === undefined || value === "" || !isHostFile(value)) continue;
    const problem = pathProblem(value, pathsAllow);
    if (problem) refuse(`${key} ${value} ${problem}`);
  }
  const extra = config.extraKeys ?? {};
  const devices = HOST_DEVICE_KEYS.filter((k) => extra[k] !== undefined && !(Array.isArray(extra[k]) && (extra[k] as unknown[]).length === 0));
  if (devices.length) refuse(`it asks for host devices (${devices.join(", ")}); only an administrator of this host may pass devices through`);

  const dropped: string[] = [];
  for (const key of ["on_xend_start", "on_xend_stop"] as const) {
    if (config[key] !== undefined) {
      dropped.push(`${key} ${config[key]}`);
      delete config[key];
    }
  }
  for (const key of DROPPED_KEYS) {
    if (extra[key] !== undefined) {
      dropped.push(key);
      delete extra[key];
    }
  }
  config.vif.forEach((vif, i) => {
    if (vif.script !== undefined) {
      dropped.push(`vif ${i} script ${vif.script}`);
      delete vif.script;
    }
  });
  if (config.extraKeys && Object.keys(config.extraKeys).length === 0) delete config.extraKeys;
  return { config, dropped };
}
