/**
 * Names a client gives for files the daemon writes (`op=dump file=…`, `xm dump-core FILE`) are
 * confined to one folder: a relative name resolves inside it and may not leave it, neither with
 * `..` nor through a symbolic link (an existing folder on the way, or the file itself, that leads
 * elsewhere). Whether an absolute name is acceptable at all is the caller's decision (only the
 * administrator on the control socket may give one).
 */
import { existsSync, lstatSync, realpathSync } from "node:fs";
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";

/** True when `path` is `folder` or below it (both absolute, normalised). */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

export class ConfinedPathError extends Error {}

/**
 * The absolute path `name` stands for inside `base` (which must exist). Throws
 * {@link ConfinedPathError} saying how it would leave `base`.
 */
export function confinedPath(base: string, name: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new ConfinedPathError("a file name may not contain control characters");
  if (isAbsolute(name)) throw new ConfinedPathError(`an absolute path is not accepted here; give a name inside ${base}`);
  const target = resolve(base, name);
  if (!isInside(target, base) || target === base) throw new ConfinedPathError(`leads out of ${base}`);
  const realBase = realpathSync(base);
  // The deepest folder on the way that exists: a link there must not lead out either.
  let existing = dirname(target);
  while (!existsSync(existing)) existing = dirname(existing);
  const real = realpathSync(existing);
  if (!isInside(real, realBase)) throw new ConfinedPathError(`leads out of ${base} through a symbolic link (to ${real})`);
  try {
    if (lstatSync(target).isSymbolicLink()) throw new ConfinedPathError(`is a symbolic link; the daemon does not write through links`);
  } catch (error) {
    if (error instanceof ConfinedPathError) throw error;
  }
  return target;
}
