/** The saved-domain file envelope (src/formats/save-image.ts): round trip and every refusal. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeSavePrefix, encodeSaveTrailer, readSaveImage, sha256Of, type SaveImageHeader } from "../../src/formats/save-image.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-save-image-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const header: SaveImageHeader = {
  driver: "sim", savedAt: "2026-12-07T06:00:00.000Z", host: "h",
  domain: { name: "web1", uuid: "11111111-2222-3333-4444-555555555555", domid: 3, memoryKiB: 65536, maxMemKiB: 65536, vcpus: 1, managed: false, paused: false },
  config: { name: "web1", uuid: "11111111-2222-3333-4444-555555555555", memory: 64 },
};
const payload = Buffer.alloc(3 * 2 ** 20 + 17, 0x5a);

function image(h = header, p = payload): Buffer {
  const prefix = encodeSavePrefix(h);
  return Buffer.concat([prefix, p, encodeSaveTrailer(prefix, p.length, sha256Of(p).toString("hex"))]);
}

function file(name: string, data: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

const refusal = (path: string) => {
  try {
    readSaveImage(path, { verify: true });
  } catch (error) {
    return { code: (error as { code?: string }).code, message: (error as Error).message };
  }
  return undefined;
};

describe("saved-domain files", () => {
  it("reads back the header and where the payload is, checking its checksum in pieces", () => {
    const data = image();
    const path = file("ok.save", data);
    const seen: number[] = [];
    const img = readSaveImage(path, { verify: true, onProgress: (done) => seen.push(done) });
    expect(img.header).toEqual(header);
    expect(img.payloadBytes).toBe(payload.length);
    expect(data.subarray(img.payloadOffset, img.payloadOffset + img.payloadBytes).equals(payload)).toBe(true);
    expect(img.fileBytes).toBe(data.length);
    expect(seen).toEqual([2 ** 20, 2 * 2 ** 20, 3 * 2 ** 20, payload.length]);
  });

  it("refuses truncated files wherever they are cut", () => {
    const data = image();
    for (const [at, detail] of [
      [0, "truncated: 0 bytes, shorter than the header"],
      [20, "truncated: 20 bytes, shorter than the header"],
      [30, `truncated: 30 bytes, the header alone needs ${24 + data.readUInt32BE(20)}`],
      [data.length - 1, `truncated: it does not end with the end record a complete save writes (${data.length - 1} bytes; the save did not finish or the file was cut)`],
    ] as const) {
      const path = file(`cut${at}.save`, data.subarray(0, at));
      expect(refusal(path)).toEqual({ code: "SAVE_FILE_BAD", message: `${path}: ${detail}` });
    }
    // Cut in the middle of the payload, but ending in a trailer: the sizes disagree.
    const prefix = encodeSavePrefix(header);
    const trailer = encodeSaveTrailer(prefix, payload.length, sha256Of(payload).toString("hex"));
    const short = file("short.save", Buffer.concat([prefix, payload.subarray(0, 100), trailer]));
    expect(refusal(short)?.message).toBe(`${short}: truncated: ${prefix.length + 100 + 88} bytes, the end record says ${prefix.length + payload.length + 88}`);
  });

  it("refuses corrupt files, other formats and other versions", () => {
    const data = image();
    const flip = (at: number) => {
      const copy = Buffer.from(data);
      copy[at]! ^= 1;
      return copy;
    };
    const body = file("body.save", flip(data.length - 1000));
    expect(refusal(body)?.message).toBe(`${body}: corrupt: the saved state does not match its checksum`);
    const head = file("head.save", flip(30));
    expect(refusal(head)?.message).toBe(`${head}: corrupt: the header does not match its checksum`);
    const version = Buffer.from(data);
    version.writeUInt32BE(2, 16);
    const v2 = file("v2.save", version);
    expect(refusal(v2)?.message).toBe(`${v2}: saved-domain format version 2; this xvm reads version 1`);
    const elf = file("elf.save", Buffer.concat([Buffer.from("\x7fELF\x02\x01\x01\x00", "latin1"), Buffer.alloc(100)]));
    expect(refusal(elf)?.message).toBe(`${elf}: not a saved domain (found '.ELF............' where the header starts with 'XVM-SAVED-DOMAIN')`);
    expect(refusal(dir)?.message).toBe(`${dir}: not a regular file`);
  });
});
