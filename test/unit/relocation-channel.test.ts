/**
 * The xend-to-xend relocation channel (SXP in length-prefixed frames) over a real socket, and the
 * text `xm migrate` prints.
 */
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Channel, Msg, detailOf, encode, errorText, field } from "../../plugins/relocation/channel.ts";
import { helloProblem, helloSxp } from "../../plugins/relocation/receive.ts";
import { progressText, summaryText } from "../../plugins/relocation/xm-migrate.ts";
import { XvmError } from "../../src/errors.ts";
import type { MigrationProgress, MigrationStats } from "../../src/hypervisor/driver.ts";

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair: [the client's Channel, the server-side raw socket]. */
async function pair(): Promise<[Channel, Socket]> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const server = createServer((s) => accepted(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: "127.0.0.1", port });
  sockets.push(client);
  const remote = await got;
  sockets.push(remote);
  return [new Channel(client), remote];
}

describe("relocation channel", () => {
  it("frames SXP bodies: u32 BE length, type, flags, reserved", () => {
    const b = encode(Msg.READY, ["ready", ["port", "41000"]]);
    expect(b.readUInt32BE(0)).toBe(b.length - 4);
    expect([b[4], b[5], b.readUInt16BE(6)]).toEqual([Msg.READY, 0, 0]);
    expect(b.subarray(8).toString()).toBe("(ready (port 41000))");
  });

  it("reads messages split at any byte and several in one chunk", async () => {
    const [ch, remote] = await pair();
    const all = Buffer.concat([encode(Msg.HELLO, helloSxp()), encode(Msg.DONE, ["done", ["domid", "4"], ["name", "web1"]])]);
    for (let i = 0; i < all.length; i++) remote.write(all.subarray(i, i + 1));
    const hello = await ch.next(5_000, "hello");
    expect(helloProblem(hello)).toBeUndefined();
    const done = await ch.next(5_000, "done");
    expect(done.type).toBe(Msg.DONE);
    expect(field(done.body, "name")).toBe("web1");
  });

  it("rejects a waiting reader when the peer closes, and on a deadline", async () => {
    const [ch, remote] = await pair();
    await expect(ch.next(50, "READY")).rejects.toThrow("no READY within 0 s");
    const closed = ch.next(5_000, "READY");
    remote.destroy();
    await expect(closed).rejects.toThrow("the peer closed the relocation connection");
    expect(ch.closed).toBe(true);
  });

  it("closes on a frame length out of bounds", async () => {
    const [ch, remote] = await pair();
    const bad = Buffer.alloc(8);
    bad.writeUInt32BE(2, 0);
    remote.write(bad);
    await expect(ch.next(5_000, "anything")).rejects.toThrow("malformed relocation message: bad relocation frame length 2");
  });

  it("names what is wrong with a peer's HELLO", () => {
    expect(helloProblem({ type: Msg.HELLO, body: ["xvm-relocation", ["version", "3"]] })).toBe("relocation protocol version 3 is not supported (this xend speaks 2)");
    expect(helloProblem({ type: Msg.RECEIVE, body: ["receive"] })).toBe("expected a relocation HELLO, got RECEIVE");
    expect(errorText(["err", ["type", "XendError"], ["value", "Restore failed: out of memory"]])).toBe("Restore failed: out of memory");
    expect(detailOf(new XvmError("MIGRATE_FAILED", { dom: "web1", detail: "link broke" }))).toBe("link broke");
  });
});

describe("xm migrate output", () => {
  const stats: MigrationStats = {
    status: "completed", totalTimeMs: 1234, downtimeMs: 12, setupTimeMs: 5, transferredBytes: 134_217_728 + 8192, remainingBytes: 0,
    totalBytes: 268_435_456, zeroPages: 32_766, normalPages: 32_770, rounds: 3, throughputMbps: 870.5, dirtyPagesRate: 512, throttlePercent: 20,
  };

  it("shows round, percent, MiB/s and the dirty pages left", () => {
    const p: MigrationProgress = { ...stats, status: "active", round: 2, remainingPages: 1234, percent: 45, phase: "precopy", expectedDowntimeMs: 40 };
    expect(progressText("web1", p)).toBe("Migrating web1: round 2, 45%, 103.8 MiB/s, ETA 0:00, 1234 dirty pages left, throttled 20%");
    expect(progressText("web1", { ...p, phase: "stop-and-copy", throttlePercent: 0 })).toBe("Migrating web1: round 2, 45%, 103.8 MiB/s, ETA 0:00, 1234 dirty pages left, stopped");
  });

  it("ends with QEMU's info migrate figures", () => {
    expect(summaryText({ domain: "web1", domid: 3, destination: "10.0.0.2:8002", remoteDomid: 7, live: true, stats })).toBe([
      "Migration of web1 to 10.0.0.2:8002 completed (live): it is domain 7 there.",
      "Migration status: completed",
      "total time: 1234 ms",
      "downtime: 12 ms",
      "setup: 5 ms",
      "transferred ram: 131080 kbytes",
      "throughput: 870.50 mbps",
      "remaining ram: 0 kbytes",
      "total ram: 262144 kbytes",
      "duplicate: 32766 pages",
      "normal: 32770 pages",
      "normal bytes: 131080 kbytes",
      "dirty sync count: 3",
      "dirty pages rate: 512 pages",
      "cpu throttle percentage: 20",
      "",
    ].join("\n"));
  });
});
