/**
 * xm save / restore / suspend / resume (issue 15.1) and their progress (issue 17.10), through the
 * compiled binary against one `xvm xend` on a temporary root, on the sim driver: the counter of a
 * sim:counter guest goes on from the value in the file, the file is refused clearly when
 * truncated, corrupt, not a save, from another driver or another domain, and nothing changes then.
 */
import { closeSync, copyFileSync, existsSync, openSync, readFileSync, readSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSavePrefix, encodeSaveTrailer, PREFIX_BYTES, sha256Of, type SaveImageHeader } from "../../src/formats/save-image.ts";
import { connectionLost, unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { onPty } from "../helpers/pty.ts";
import { consoleText, heartbeats, listMap, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

let root: string;
let xend: Xend | undefined;

const cfg = (name: string, extra = "") => `name = "${name}"\nkernel = "sim:counter"\nmemory = 64\nvcpus = 1\n${extra}`;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-save-e2e-"), { relocation: false });
  for (const name of ["ctr", "snap", "other", "mctr"]) writeFileSync(join(root, `${name}.cfg`), cfg(name));
  xend = await startXend(root);
}, 60_000);

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

/** A control API call, again once if Node's keep-alive socket was closed by xend meanwhile (EPIPE). */
async function api<T>(method: string, path: string): Promise<T> {
  const call = () => unixJson<T>(join(root, "var/run/xend/control.sock"), method, path);
  try {
    return await call();
  } catch (error) {
    if (!connectionLost(error)) throw error;
    return call();
  }
}

async function uuidOf(name: string): Promise<string> {
  return (await api<{ uuid: string }>("GET", `/domains/${name}`)).uuid;
}

/** Waits until the guest printed a heartbeat of at least `n`. */
async function beatAtLeast(name: string, n: number): Promise<number> {
  return waitFor(async () => {
    const beats = heartbeats(await consoleText(root, name));
    const last = beats.at(-1) ?? -1;
    return last >= n ? last : 0;
  }, `${name} to beat ${n}`, 60_000, 100);
}

/** The heartbeat counter stored in a sim save file (page 0 is the first page of the payload). */
function savedCounter(file: string): bigint {
  const data = readFileSync(file);
  const headerBytes = data.readUInt32BE(20);
  let at = PREFIX_BYTES + headerBytes;
  const jsonBytes = data.readUInt32BE(at);
  const state = JSON.parse(data.toString("utf8", at + 4, at + 4 + jsonBytes)) as { nrPages: number };
  at += 4 + jsonBytes + Math.ceil(state.nrPages / 32) * 4;
  return data.readBigUInt64LE(at + 0x10);
}

function snapshot(): Record<string, string> {
  return Object.fromEntries(Object.entries(listMap(root)).map(([name, v]) => [name, v.replace(/ [r-][b-]/, " ..")]));
}

/** Refused with exactly this message and exit 1, nothing changed. */
function refused(args: string[], message: string): void {
  const before = snapshot();
  const r = xm(root, ...args);
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr.split("\n").filter((l) => l.startsWith("Error:")).join("\n") }).toEqual({ code: 1, stdout: "", stderr: `Error: ${message}` });
  expect(snapshot()).toEqual(before);
}

describe("xm save and xm restore", () => {
  it("saves a counter guest, destroys it, and restores it with the same name, uuid and memory; the counter goes on", async () => {
    xmOk(root, "create", join(root, "ctr.cfg"));
    const uuid = await uuidOf("ctr");
    await beatAtLeast("ctr", 200);
    const file = join(root, "ctr.save");
    const saved = xm(root, "save", "ctr", file);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toBe("");
    // Progress on a pipe: plain lines, the last one whole.
    expect(saved.stderr).toMatch(/^Saving ctr: \d+\/\d+ KiB \(\d+%\)\n(Saving ctr: .*\n)*$/);
    expect(saved.stderr).toMatch(/Saving ctr: (\d+)\/\1 KiB \(100%\)\n$/);
    expect(listMap(root).ctr).toBeUndefined();
    expect(readFileSync(file).subarray(0, 16).toString("latin1")).toBe("XVM-SAVED-DOMAIN");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const counter = Number(savedCounter(file));
    expect(counter).toBeGreaterThanOrEqual(200);

    const restored = xm(root, "restore", file);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toBe("");
    expect(restored.stderr).toMatch(/^Checking .*ctr\.save: \d+\/\d+ KiB \(100%\)\nRestoring .*ctr\.save: (\d+)\/\1 KiB \(100%\)\n$/);
    const row = listMap(root).ctr;
    expect(row).toMatch(/^\d+ -?[rb-]{2}----$/);
    expect(await uuidOf("ctr")).toBe(uuid);
    expect((await api<{ memory: number; maxmem: number }>("GET", "/domains/ctr")).memory).toBe(64);
    // The first heartbeat of the restored guest is the next hundred after the saved value: it did
    // not boot again (no boot line, no count from zero).
    const first = Math.floor(counter / 100) * 100 + 100;
    await beatAtLeast("ctr", first);
    const text = await consoleText(root, "ctr");
    expect(heartbeats(text)[0]).toBe(first);
    expect(text).not.toContain("booting");
  }, 120_000);

  it("refuses a second restore of a running domain's file: the domain exists", () => {
    refused(["restore", join(root, "ctr.save")], `Domain 'ctr' already exists with ID '${listMap(root).ctr!.split(" ")[0]}'`);
  });

  it("xm save -c keeps the domain running; xm restore -p leaves it paused", async () => {
    xmOk(root, "create", join(root, "snap.cfg"));
    await beatAtLeast("snap", 100);
    const file = join(root, "snap.save");
    const before = listMap(root).snap!.split(" ")[0];
    expect(xm(root, "save", "-c", "snap", file)).toMatchObject({ code: 0, stdout: "" });
    expect(listMap(root).snap!.split(" ")[0]).toBe(before);
    const beat = await beatAtLeast("snap", 200);
    expect(beat).toBeGreaterThanOrEqual(200);
    xmOk(root, "destroy", "snap");
    expect(xm(root, "restore", file, "-p")).toMatchObject({ code: 0, stdout: "" });
    expect(listMap(root).snap).toMatch(/^\d+ --p---$/);
    xmOk(root, "destroy", "snap");
  }, 120_000);

  it("refuses truncated, corrupt, foreign and other drivers' files, naming what is wrong", () => {
    const good = join(root, "ctr.save");
    const data = readFileSync(good);
    xmOk(root, "destroy", "ctr");

    const cut = join(root, "cut.save");
    writeFileSync(cut, data.subarray(0, data.length - 100));
    refused(["restore", cut], `${cut}: truncated: it does not end with the end record a complete save writes (${data.length - 100} bytes; the save did not finish or the file was cut)`);
    writeFileSync(cut, data.subarray(0, 10));
    refused(["restore", cut], `${cut}: truncated: 10 bytes, shorter than the header`);

    const bad = join(root, "bad.save");
    const flipped = Buffer.from(data);
    flipped[data.length - 200]! ^= 0xff;
    writeFileSync(bad, flipped);
    refused(["restore", bad], `${bad}: corrupt: the saved state does not match its checksum`);
    const badHeader = Buffer.from(data);
    badHeader[PREFIX_BYTES + 3]! ^= 0x01;
    writeFileSync(bad, badHeader);
    refused(["restore", bad], `${bad}: corrupt: the header does not match its checksum`);

    refused(["restore", join(root, "ctr.cfg")], `${join(root, "ctr.cfg")}: not a saved domain (found 'name = "ctr".ker' where the header starts with 'XVM-SAVED-DOMAIN')`);
    refused(["restore", join(root, "nonexistent.save")], `${join(root, "nonexistent.save")}: no such file`);

    // A well-formed file written by another driver.
    const headerBytes = data.readUInt32BE(20);
    const header = JSON.parse(data.toString("utf8", PREFIX_BYTES, PREFIX_BYTES + headerBytes)) as SaveImageHeader;
    const payload = data.subarray(PREFIX_BYTES + headerBytes, data.length - 88);
    const prefix = encodeSavePrefix({ ...header, driver: "qemu" });
    const qemu = join(root, "qemu.save");
    writeFileSync(qemu, Buffer.concat([prefix, payload, encodeSaveTrailer(prefix, payload.length, sha256Of(payload).toString("hex"))]));
    refused(["restore", qemu], `${qemu}: saved by the qemu driver; this xend runs the sim driver, which cannot read its state (svccfg -s xend setprop config/hypervisor = qemu)`);

    refused(["save", "ctr", join(root, "x.save")], "Domain 'ctr' does not exist.");
    refused(["save", "Domain-0", join(root, "x.save")], "Cannot save privileged domain 0");
    expect(existsSync(join(root, "x.save"))).toBe(false);
  });
});

describe("xm suspend and xm resume", () => {
  it("suspends a managed domain into its folder and resumes it where it stopped", async () => {
    xmOk(root, "new", join(root, "mctr.cfg"));
    xmOk(root, "start", "mctr");
    const uuid = await uuidOf("mctr");
    await beatAtLeast("mctr", 100);
    const r = xm(root, "suspend", "mctr");
    expect(r).toMatchObject({ code: 0, stdout: "" });
    const checkpoint = join(root, "var/lib/xend/domains", uuid, "checkpoint.chk");
    expect(existsSync(checkpoint)).toBe(true);
    expect(listMap(root).mctr).toBe(" ");
    expect(xmOk(root, "list", "--state", "suspended")).toContain("\nmctr ");
    const counter = Number(savedCounter(checkpoint));
    refused(["start", "mctr"], "Domain 'mctr' is suspended (xm resume brings it back); cannot start.");
    refused(["suspend", "mctr"], "Domain 'mctr' is already suspended; cannot suspend.");

    expect(xm(root, "resume", "mctr")).toMatchObject({ code: 0, stdout: "" });
    expect(existsSync(checkpoint)).toBe(false);
    expect(await uuidOf("mctr")).toBe(uuid);
    const first = Math.floor(counter / 100) * 100 + 100;
    await beatAtLeast("mctr", first);
    expect(heartbeats(await consoleText(root, "mctr"))[0]).toBe(first);
    refused(["resume", "mctr"], "Domain 'mctr' is running; cannot resume.");
  }, 120_000);

  it("refuses to suspend an unmanaged domain, and a checkpoint that belongs to another domain", async () => {
    xmOk(root, "create", join(root, "other.cfg"));
    refused(["suspend", "other"], "Domain 'other' is not managed by xend (xm new adds it; xm save works on any domain); cannot suspend.");
    const otherUuid = await uuidOf("other");
    const file = join(root, "other.save");
    xmOk(root, "save", "other", file);
    const uuid = await uuidOf("mctr");
    xmOk(root, "suspend", "mctr");
    const checkpoint = join(root, "var/lib/xend/domains", uuid, "checkpoint.chk");
    const mine = join(root, "mctr.chk");
    copyFileSync(checkpoint, mine);
    copyFileSync(file, checkpoint);
    refused(["resume", "mctr"], `${checkpoint}: belongs to another domain: other (${otherUuid}), not ${uuid}`);
    copyFileSync(mine, checkpoint);
    expect(xm(root, "resume", "mctr", "-p")).toMatchObject({ code: 0, stdout: "" });
    expect(listMap(root).mctr).toMatch(/^\d+ --p---$/);
  }, 120_000);
});

describe("progress on a terminal", () => {
  it("shows a percentage with an ETA, rewritten in place", async () => {
    xmOk(root, "create", join(root, "snap.cfg"));
    const file = join(root, "tty.save");
    const r = onPty(["/usr/bin/env", `XVM_ROOT=${root}`, xvmBin(), "xm", "save", "snap", file], []);
    expect(r.error).toBeNull();
    expect(r.status).toBe(0);
    expect(r.transcript).toMatch(/\rSaving snap: 100% \((\d+)\/\1 KiB\), ETA 0:00\x1b\[K\r?\n$/);
    // The file is whole: it restores.
    const fd = openSync(file, "r");
    const magic = Buffer.alloc(16);
    readSync(fd, magic, 0, 16, 0);
    closeSync(fd);
    expect(magic.toString("latin1")).toBe("XVM-SAVED-DOMAIN");
  }, 60_000);
});
