/**
 * Key files (src/security/key-file.ts): created 0600 with 32 random bytes, never replaced, and
 * refused — with the reason — when a symlink, group/world-readable, too short or not a key.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KeyFileError, createKeyFile, loadKey, readKeyFile } from "../../src/security/key-file.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "xvm-key-"));
  dirs.push(d);
  return d;
}

describe("key files", () => {
  it("creates the key once, 0600, 64 hex digits, whatever the umask; then reads the same key", () => {
    const path = join(dir(), "etc/xen/relocation.key");
    const old = process.umask(0);
    try {
      const first = loadKey(path, { create: true });
      expect(first.created).toBe(true);
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
      const again = loadKey(path, { create: true });
      expect(again.created).toBe(false);
      expect(again.key.secret.equals(first.key.secret)).toBe(true);
      expect(again.key.fingerprint).toMatch(/^[0-9a-f]{4}(:[0-9a-f]{4}){3}$/);
    } finally {
      process.umask(old);
    }
  });

  it("never replaces an existing file", () => {
    const path = join(dir(), "k");
    writeFileSync(path, "ab".repeat(32), { mode: 0o600 });
    expect(() => createKeyFile(path)).toThrow(KeyFileError);
    expect(readFileSync(path, "utf8")).toBe("ab".repeat(32));
  });

  it("refuses group/world-readable files, symlinks, short keys and non-keys, and does not chmod them", () => {
    const d = dir();
    const loose = join(d, "loose");
    writeFileSync(loose, "ab".repeat(32), { mode: 0o644 });
    chmodSync(loose, 0o644);
    expect(() => readKeyFile(loose)).toThrow(`key file ${loose}: has mode 0644; a key must be readable by its owner only (chmod 600)`);
    expect(statSync(loose).mode & 0o777).toBe(0o644);
    const link = join(d, "link");
    const good = join(d, "good");
    writeFileSync(good, "cd".repeat(32), { mode: 0o600 });
    symlinkSync(good, link);
    expect(() => readKeyFile(link)).toThrow("is a symbolic link");
    const short = join(d, "short");
    writeFileSync(short, "abcd", { mode: 0o600 });
    expect(() => readKeyFile(short)).toThrow("holds a key of 2 bytes; at least 16 are needed");
    const text = join(d, "text");
    writeFileSync(text, "hunter2 is my password", { mode: 0o600 });
    expect(() => readKeyFile(text)).toThrow("does not hold a key");
    expect(() => readKeyFile(join(d, "missing"))).toThrow("does not exist");
  });
});
