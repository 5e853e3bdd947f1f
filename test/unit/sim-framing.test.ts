import { describe, expect, it } from "vitest";
import { FrameDecoder, encodeFrame } from "../../src/hypervisor/sim/framing.ts";
import { parseThreadStat } from "../../src/hypervisor/sim/vcpu.ts";
import { topology } from "../../src/hypervisor/sim/hostinfo.ts";

describe("runner socket frames", () => {
  it("round-trips a header and a binary payload", () => {
    const payload = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
    const frame = encodeFrame({ id: 7, cmd: "readPages", args: { pfns: [1, 2] } }, payload);
    const [out, ...rest] = new FrameDecoder().push(frame);
    expect(rest).toEqual([]);
    expect(out!.header).toEqual({ id: 7, cmd: "readPages", args: { pfns: [1, 2] } });
    expect(Buffer.from(out!.payload).equals(Buffer.from(payload))).toBe(true);
  });

  it("reassembles frames split at every byte and several frames in one chunk", () => {
    const a = encodeFrame({ n: 1 }, new Uint8Array([1, 2, 3]));
    const b = encodeFrame({ n: 2, text: "é" });
    const both = Buffer.concat([a, b]);
    const d = new FrameDecoder();
    const got = [];
    for (let i = 0; i < both.length; i++) got.push(...d.push(both.subarray(i, i + 1)));
    expect(got.map((f) => f.header)).toEqual([{ n: 1 }, { n: 2, text: "é" }]);
    expect([...got[0]!.payload]).toEqual([1, 2, 3]);
    expect(got[1]!.payload.byteLength).toBe(0);
    expect(new FrameDecoder().push(Buffer.concat([b, a, b])).map((f) => f.header.n)).toEqual([2, 1, 2]);
  });

  it("carries a multi-megabyte payload intact", () => {
    const big = new Uint8Array(8 * 2 ** 20);
    for (let i = 0; i < big.length; i += 4093) big[i] = (i / 4093) & 0xff;
    const frame = encodeFrame({ id: 1 }, big);
    const d = new FrameDecoder();
    const got = [];
    for (let at = 0; at < frame.length; at += 65536) got.push(...d.push(frame.subarray(at, at + 65536)));
    expect(got.length).toBe(1);
    expect(Buffer.from(got[0]!.payload).equals(Buffer.from(big))).toBe(true);
  });

  it("rejects a frame whose length cannot be right", () => {
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(2, 0);
    expect(() => new FrameDecoder().push(bad)).toThrow(/bad frame length/);
  });
});

describe("host facts", () => {
  it("reads a thread's CPU time and last CPU from /proc stat", () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i));
    // utime is field 14, stime field 15, processor field 39 (1-based, counting pid and comm)
    fields[13] = "150";
    fields[14] = "50";
    fields[38] = "1";
    const line = `1234 (vcpu 0) ${fields.slice(2).join(" ")}`;
    expect(parseThreadStat(line)).toEqual({ cpuTimeNs: 2_000_000_000, cpu: 1 });
    expect(parseThreadStat("garbage")).toBeNull();
  });

  it("derives sockets, cores and threads from /proc/cpuinfo", () => {
    const cpu = (id: number, phys: number) => `processor\t: ${id}\nphysical id\t: ${phys}\nsiblings\t: 4\ncpu cores\t: 2\n\n`;
    expect(topology(cpu(0, 0) + cpu(1, 0) + cpu(2, 1) + cpu(3, 1), 8)).toEqual({ sockets: 2, coresPerSocket: 2, threadsPerCore: 2 });
    expect(topology(undefined, 2)).toEqual({ sockets: 1, coresPerSocket: 2, threadsPerCore: 1 });
    expect(topology("processor : 0\n", 2)).toEqual({ sockets: 1, coresPerSocket: 2, threadsPerCore: 1 });
  });
});
