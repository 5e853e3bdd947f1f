/**
 * Where dumps go and how a dump file comes to exist: xend's naming, a temporary name renamed when
 * complete (so a `*.core` file is always a whole dump), `<file>-incomplete` when the dump failed or
 * its daemon ended during it, and the dump-limit rule that keeps a crash loop from filling the disk.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { errorMessage, XvmError, type DumpOptions, type HypervisorDriver, type Logger } from "xvm/plugin";

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** xend's `time.strftime("%Y-%m%d-%H%M.%S", localtime)` + `-<name>.<domid>.core`. */
export function dumpFileName(name: string, domid: number, when: Date = new Date()): string {
  const stamp = `${when.getFullYear()}-${pad(when.getMonth() + 1)}${pad(when.getDate())}-${pad(when.getHours())}${pad(when.getMinutes())}.${pad(when.getSeconds())}`;
  // A name with a slash would escape the dump directory.
  return `${stamp}-${name.replace(/\//g, "_")}.${domid}.core`;
}

export const INCOMPLETE_SUFFIX = "-incomplete";
const PARTIAL_SUFFIX = ".partial";
/** The name a dump is written under until it is complete (skipped by the dump-limit rule). */
export const partialName = (file: string) => `${file}${PARTIAL_SUFFIX}`;
/** Files the dump-limit rule counts and may remove: complete and incomplete dumps, nothing else. */
const DUMP_FILE = /\.core(-incomplete)?$/;

/**
 * A `.partial` file nobody has written to for this long is stale. The runner writes the dump
 * itself and outlives a killed xend, so a young one may still be growing; left alone, it is
 * looked at again at the next dump or refresh.
 */
export const STALE_PARTIAL_MS = 30_000;

/**
 * Renames the stale `*.partial` files of `dir` — dumps whose daemon ended during them (xend killed
 * mid-dump), never renamed since — to `<file>-incomplete`, so that they are seen for what they
 * are and counted by dump-limit. Skips the ones this daemon is writing (`writing`) and young ones.
 * Whether the runner finished the file after xend died is not known, so it is not called complete.
 * Returns the new names.
 */
export function recoverPartials(dir: string, writing: ReadonlySet<string>, log: Logger, staleMs = STALE_PARTIAL_MS): string[] {
  if (!existsSync(dir)) return [];
  const renamed: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(`.core${PARTIAL_SUFFIX}`)) continue;
    const path = join(dir, name);
    if (writing.has(path)) continue;
    try {
      const st = lstatSync(path);
      if (!st.isFile() || Date.now() - st.mtimeMs < staleMs) continue;
      const target = path.slice(0, -PARTIAL_SUFFIX.length) + INCOMPLETE_SUFFIX;
      renameSync(path, target);
      renamed.push(target);
      log.warn(`${path} was left by a dump that did not finish (xend ended during it); renamed to ${target}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") log.warn(`cannot rename the stale partial dump ${path}: ${errorMessage(error)}`);
    }
  }
  return renamed;
}

/** Makes sure `dir` exists and is a directory; throws DUMP_FAILED saying what is in the way. */
export function ensureDumpDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "EEXIST" || code === "ENOTDIR" ? "a file is in the way" : code === "EACCES" || code === "EPERM" ? "permission denied" : errorMessage(error);
    throw new XvmError("DUMP_FAILED", { detail: `cannot create dump directory ${dir}: ${why}` }, { cause: error });
  }
  if (!statSync(dir).isDirectory()) throw new XvmError("DUMP_FAILED", { detail: `dump directory ${dir} is not a directory` });
}

export interface DumpResult {
  file: string;
  bytes: number;
  seconds: number;
}

/**
 * Dumps guest `domid` to `file` through the driver, under a temporary name renamed on success.
 * On failure the partial file becomes `<file>-incomplete` (if anything was written) and the error
 * is thrown as DUMP_FAILED with the reason and what was left behind.
 */
export async function dumpToFile(driver: HypervisorDriver, domid: number, file: string, options: DumpOptions): Promise<DumpResult> {
  if (existsSync(file) && statSync(file).isDirectory()) throw new XvmError("DUMP_IN_DIRECTORY", { path: file });
  ensureDumpDir(dirname(file));
  const temp = partialName(file);
  const started = performance.now();
  try {
    await driver.dumpCore(domid, temp, options);
    renameSync(temp, file);
  } catch (error) {
    let left = "no file was written";
    if (existsSync(temp)) {
      try {
        renameSync(temp, file + INCOMPLETE_SUFFIX);
        left = `partial dump left as ${file}${INCOMPLETE_SUFFIX}`;
      } catch (renameError) {
        left = `partial dump left as ${temp} (${errorMessage(renameError)})`;
      }
    }
    const reason = error instanceof XvmError && error.code === "DUMP_FAILED" ? String(error.params.detail) : errorMessage(error);
    throw new XvmError("DUMP_FAILED", { detail: `${reason}; ${left}` }, { cause: error });
  }
  return { file, bytes: statSync(file).size, seconds: (performance.now() - started) / 1000 };
}

/** Disk space a file takes (sparse dumps take less than their size), as du counts it. */
function diskBytes(st: { blocks?: number; size: number }): number {
  return typeof st.blocks === "number" && st.blocks >= 0 ? st.blocks * 512 : st.size;
}

/**
 * The dump-limit rule: keep the newest dumps whose disk usage adds up to at most `limitMiB`, remove
 * the older ones. The newest dump is always kept, even alone above the limit, so the dump of a
 * guest larger than the limit survives until the next one. 0 means no limit. Returns what was removed.
 */
export function pruneDumps(dir: string, limitMiB: number, log: Logger): string[] {
  if (!limitMiB || limitMiB <= 0 || !existsSync(dir)) return [];
  const limit = limitMiB * 2 ** 20;
  const entries: Array<{ path: string; mtime: number; bytes: number }> = [];
  for (const name of readdirSync(dir)) {
    if (!DUMP_FILE.test(name)) continue;
    const path = join(dir, name);
    try {
      const st = lstatSync(path);
      if (st.isFile()) entries.push({ path, mtime: st.mtimeMs, bytes: diskBytes(st) });
    } catch {
      // vanished meanwhile
    }
  }
  entries.sort((a, b) => b.mtime - a.mtime || (basename(b.path) < basename(a.path) ? -1 : 1));
  const removed: string[] = [];
  let total = 0;
  entries.forEach((e, i) => {
    total += e.bytes;
    if (i === 0 || total <= limit) return;
    try {
      rmSync(e.path, { force: true });
      removed.push(e.path);
      log.info(`dump-limit ${limitMiB} MiB: removed old dump ${e.path} (${(e.bytes / 2 ** 20).toFixed(1)} MiB on disk)`);
    } catch (error) {
      log.warn(`dump-limit ${limitMiB} MiB: cannot remove old dump ${e.path}: ${errorMessage(error)}`);
    }
  });
  return removed;
}
