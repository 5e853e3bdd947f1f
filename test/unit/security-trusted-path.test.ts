/**
 * Plugin files a root daemon may import (src/security/trusted-path.ts): refused when another user
 * owns them (a user created by the test), when they or a folder above them are group/world
 * writable, or when a folder plugin holds such a file or links out; a sticky folder above (/tmp)
 * is fine. importPlugin refuses before importing: the plugin's code never runs.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { importPlugin } from "../../src/plugin/loader.ts";
import { untrustedReason } from "../../src/security/trusted-path.ts";
import { createTestUser } from "../helpers/users.ts";

const root = mkdtempSync(join(tmpdir(), "xvm-trust-"));
chmodSync(root, 0o755);
const user = createTestUser("xvmtp");
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  if (typeof user !== "string") user.remove();
});

function plugin(path: string, mode = 0o644): string {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o755 });
  // The plugin leaves a mark if its code ever runs.
  writeFileSync(path, `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(`${path}.ran`)}, "");\nexport default { name: "p", setup() {} };\n`);
  chmodSync(path, mode);
  return path;
}

describe("trusted plugin paths", () => {
  it("trusts root-owned files 0644 under 0755 folders, with a sticky /tmp above", () => {
    expect(untrustedReason(plugin(join(root, "ok/a.js")))).toBeUndefined();
  });

  it.skipIf(typeof user === "string")("refuses a plugin owned by another (non-root) user, and never runs it", async () => {
    const u = user as Exclude<typeof user, string>;
    const path = plugin(join(root, "theirs/b.js"));
    chownSync(path, u.uid, u.gid);
    expect(untrustedReason(path)).toBe(`${path} is owned by uid ${u.uid}, not by root or the daemon's user (uid 0)`);
    await expect(importPlugin({ name: "b", path, root: path })).rejects.toThrow(`plugin b (${path}) was not loaded: ${path} is owned by uid ${u.uid}`);
    expect(existsSync(`${path}.ran`)).toBe(false);
    // A folder above owned by that user could swap the file: refused too.
    const dir = join(root, "userdir");
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, u.uid, u.gid);
    const inside = plugin(join(dir, "c.js"));
    expect(untrustedReason(inside)).toBe(`${dir} is owned by uid ${u.uid}, not by root or the daemon's user (uid 0)`);
  });

  it("refuses world- and group-writable files and folders, and files inside a folder plugin", async () => {
    const ww = plugin(join(root, "ww/d.js"), 0o666);
    expect(untrustedReason(ww)).toBe(`${ww} is writable by everyone (mode 0666)`);
    await expect(importPlugin({ name: "d", path: ww, root: ww })).rejects.toThrow("was not loaded");
    expect(existsSync(`${ww}.ran`)).toBe(false);
    const gw = join(root, "gw");
    plugin(join(gw, "e.js"));
    chmodSync(gw, 0o775);
    expect(untrustedReason(join(gw, "e.js"))).toBe(`${gw} is writable by its group (mode 0775)`);
    const folder = join(root, "folderplug");
    plugin(join(folder, "index.js"));
    plugin(join(folder, "lib/helper.js"), 0o646);
    expect(untrustedReason(folder)).toBe(`${join(folder, "lib/helper.js")} is writable by everyone (mode 0646)`);
  });

  it("judges a link by what it leads to; a sticky world-writable folder above is fine", () => {
    const shared = join(root, "shared");
    mkdirSync(shared, { mode: 0o777 });
    chmodSync(shared, 0o777);
    const loose = plugin(join(shared, "f.js"));
    const links = join(root, "links");
    mkdirSync(links, { mode: 0o755 });
    symlinkSync(loose, join(links, "f.js"));
    expect(untrustedReason(join(links, "f.js"))).toBe(`${shared} is writable by everyone (mode 0777)`);
    chmodSync(shared, 0o1777);
    expect(untrustedReason(join(links, "f.js"))).toBeUndefined();
  });
});
