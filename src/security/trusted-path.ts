/**
 * Is a file safe for a root daemon to execute? Code xvm imports (external plugins from
 * `config/plugin-path`) must not be changeable by anyone but root or the daemon's own user:
 * a plugin file another user can write is that user running code as root.
 *
 * A path is trusted when the file (after following symbolic links) and every folder above it, up
 * to `/`, are owned by root or the daemon's user and are not writable by group or others. A folder
 * writable by others is accepted only with the sticky bit (like /tmp: others cannot rename or
 * remove what is not theirs). A folder plugin is trusted when every file and folder in it is too.
 * This is OpenSSH's StrictModes rule applied to code instead of keys.
 */
import { lstatSync, readdirSync, realpathSync, statSync, type Stats } from "node:fs";
import { dirname, join } from "node:path";

/** Files looked at inside one folder plugin, at most (a plugin is a handful of files). */
const MAX_FILES = 2000;

function daemonUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

function mode(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, "0");
}

/** Why one file or folder may not be trusted (owner, mode), or undefined. */
function entryProblem(path: string, st: Stats, uid: number, ancestor: boolean): string | undefined {
  if (uid >= 0 && st.uid !== 0 && st.uid !== uid) return `${path} is owned by uid ${st.uid}, not by root or the daemon's user (uid ${uid})`;
  const writable = st.mode & 0o022;
  if (writable === 0) return undefined;
  // A sticky folder above the plugin (/tmp): others may add entries but not touch ours.
  if (ancestor && st.isDirectory() && (st.mode & 0o1000) !== 0) return undefined;
  return `${path} is writable by ${st.mode & 0o002 ? "everyone" : "its group"} (mode ${mode(st)})`;
}

/** Why the folders from `dir` up to `/` may not be trusted, or undefined. */
function ancestorsProblem(dir: string, uid: number): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    let st: Stats;
    try {
      st = statSync(d);
    } catch (error) {
      return `${d}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    }
    const problem = entryProblem(d, st, uid, true);
    if (problem) return problem;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Why the plugin at `path` (a file, or a folder plugin's folder) may not be loaded, or undefined
 * when it may. `uid` is the daemon's user (tests pass another).
 */
export function untrustedReason(path: string, uid = daemonUid()): string | undefined {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    return `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  const above = ancestorsProblem(dirname(real), uid);
  if (above) return above;
  const st = statSync(real);
  const own = entryProblem(real, st, uid, false);
  if (own) return own;
  if (!st.isDirectory()) return undefined;
  // A folder plugin imports its other files: every one of them counts.
  const queue = [real];
  let seen = 0;
  while (queue.length > 0) {
    const dir = queue.shift()!;
    for (const name of readdirSync(dir)) {
      if (++seen > MAX_FILES) return `${real} holds more than ${MAX_FILES} files; a plugin folder is not a place for a whole tree`;
      const full = join(dir, name);
      const lst = lstatSync(full);
      if (lst.isSymbolicLink()) {
        // A link is judged by what it leads to; a linked folder outside the plugin is not walked.
        let target: string;
        try {
          target = realpathSync(full);
        } catch {
          continue; // dangling: nothing to import
        }
        const tst = statSync(target);
        if (tst.isDirectory() && !target.startsWith(`${real}/`)) return `${full} links to the folder ${target}, outside the plugin`;
        const why = ancestorsProblem(dirname(target), uid) ?? entryProblem(target, tst, uid, false);
        if (why) return why;
        continue;
      }
      const problem = entryProblem(full, lst, uid, false);
      if (problem) return problem;
      if (lst.isDirectory()) queue.push(full);
    }
  }
  return undefined;
}
