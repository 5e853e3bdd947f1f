/**
 * Shared secret keys kept in files: the relocation key (`config/xend-relocation-key`) and any
 * other peer key built on src/security/peer-auth.ts (the qemu driver's migration stream).
 *
 * A key file holds 64 hex digits (32 random bytes) and a newline. It must be a regular file (not a
 * symbolic link), owned by the daemon's user, readable by nobody else (mode 0600 or stricter):
 * anyone who can read it can migrate guests onto this host. A file that breaks one of these rules
 * is refused with the reason, never "fixed" (no chmod of what we did not create).
 *
 * The key itself never goes into the SMF repository: repository.db is 0644 (every local user can
 * read it through svcprop), and svccfg export and the backups copy it.
 */
/** node:crypto on first use: every xm command carries this file (Start-up in docs/architecture.md). */
const crypto = () => process.getBuiltinModule("node:crypto");
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, writeSync, constants } from "node:fs";
import { dirname } from "node:path";

export const KEY_BYTES = 32;
/** Shortest key accepted from a file written by hand or another tool (128 bits). */
export const MIN_KEY_BYTES = 16;

export interface SharedKey {
  readonly secret: Buffer;
  /** Safe to show and log: the first 16 hex digits of SHA-256("xvm-key-fingerprint\0" + key). */
  readonly fingerprint: string;
  /** The file it came from. */
  readonly path: string;
}

export class KeyFileError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`key file ${path}: ${detail}`);
    this.name = "KeyFileError";
  }
}

export function fingerprint(secret: Buffer): string {
  const hex = crypto().createHash("sha256").update("xvm-key-fingerprint\0").update(secret).digest("hex").slice(0, 16);
  return hex.match(/.{4}/g)!.join(":");
}

/** The key written in a file: hex digits (white space around them ignored). */
export function parseKeyText(text: string): Buffer {
  const hex = text.trim();
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) throw new Error("does not hold a key (hex digits, e.g. 64 of them as `xm relocation-key --generate` writes)");
  if (hex.length / 2 < MIN_KEY_BYTES) throw new Error(`holds a key of ${hex.length / 2} bytes; at least ${MIN_KEY_BYTES} are needed`);
  return Buffer.from(hex, "hex");
}

function currentUid(): number {
  return typeof process.getuid === "function" ? process.getuid() : -1;
}

/** Why a key file may not be used (owner, mode, type), or undefined when it may. */
export function keyFileProblem(path: string, uid = currentUid()): string | undefined {
  let st;
  try {
    st = lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (error as Error).message})`;
  }
  if (st.isSymbolicLink()) return "is a symbolic link; give the file itself";
  if (!st.isFile()) return "is not a regular file";
  if (uid >= 0 && st.uid !== uid && st.uid !== 0) return `is owned by uid ${st.uid}, not by this daemon's user (uid ${uid}) or root`;
  if ((st.mode & 0o077) !== 0) return `has mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}; a key must be readable by its owner only (chmod 600)`;
  return undefined;
}

/** Reads a key file after checking it (throws KeyFileError with the reason). */
export function readKeyFile(path: string): SharedKey {
  const problem = keyFileProblem(path);
  if (problem) throw new KeyFileError(path, problem);
  let secret: Buffer;
  try {
    // O_NOFOLLOW: the file checked above is the file read, not a link swapped in meanwhile.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (fstatSync(fd).size > 4096) throw new Error("is larger than 4 KiB: not a key file");
      secret = parseKeyText(readFileSync(fd, "utf8"));
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw new KeyFileError(path, (error as Error).message);
  }
  return { secret, fingerprint: fingerprint(secret), path };
}

/**
 * Creates a key file with a fresh random key, mode 0600, refusing to replace an existing file
 * (O_EXCL). Its directory is created (0755) when missing. Returns the key.
 */
export function createKeyFile(path: string, secret: Buffer = crypto().randomBytes(KEY_BYTES)): SharedKey {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    throw new KeyFileError(path, `cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    // Created 0600 (a umask can only take bits away, never widen it).
    writeSync(fd, `${secret.toString("hex")}\n`);
  } finally {
    closeSync(fd);
  }
  return { secret, fingerprint: fingerprint(secret), path };
}

/** Reads the key file, creating it first when it does not exist and `create` is set. */
export function loadKey(path: string, options: { create: boolean }): { key: SharedKey; created: boolean } {
  if (options.create) {
    try {
      lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        try {
          return { key: createKeyFile(path), created: true };
        } catch (e) {
          // Another process created it between the two calls: read theirs.
          if (!(e instanceof KeyFileError) || !e.message.includes("EEXIST")) throw e;
        }
      }
    }
  }
  return { key: readKeyFile(path), created: false };
}
