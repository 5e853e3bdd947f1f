/** Argument parsing xm did by hand: memory sizes with units, vCPU numbers, config file lookup. */
import { existsSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { XvmError } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { XmUsageError } from "./base.ts";

const UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** xm's int_unit(arg, 'm'): `512`, `512m`, `1g`, `262144k` -> MiB (kilobytes round down, as xm's integer division did). */
export function mebibytes(arg: string): number {
  const m = /^(\d+)([kKmMgGtT]?)[bB]?$/.exec(arg.trim());
  if (!m) throw new XmUsageError(`Invalid memory size '${arg}': use a number of MiB, optionally with a unit k, m, g or t (e.g. 512, 512m, 1g)`);
  const value = Number(m[1]);
  const unit = m[2] ? UNIT[m[2].toLowerCase()]! : UNIT.m!;
  return Math.floor((value * unit) / UNIT.m!);
}

export function count(arg: string, what: string): number {
  if (!/^\d+$/.test(arg.trim())) throw new XmUsageError(`Invalid ${what} '${arg}': expected a whole number`);
  return Number(arg);
}

/**
 * Finds a config file as xm did: a path with a slash as given; a bare name in `.` and then in
 * `<root>/etc/xen` (xm's search path `.:/etc/xen`, under the state root).
 */
export function findConfigFile(name: string, paths: Paths, cwd = process.cwd()): string {
  const isFile = (p: string) => existsSync(p) && statSync(p).isFile();
  if (isAbsolute(name) || name.includes("/")) {
    const p = resolve(cwd, name);
    if (isFile(p)) return p;
    throw new XvmError("XM_CONFIG_NOT_FOUND", { file: name, searched: "the path as given" });
  }
  const dirs = [cwd, paths.etcXen];
  for (const dir of dirs) {
    const p = join(dir, name);
    if (isFile(p)) return p;
  }
  throw new XvmError("XM_CONFIG_NOT_FOUND", { file: name, searched: dirs.join(", ") });
}
