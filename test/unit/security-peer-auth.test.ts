/**
 * The HMAC-SHA-256 challenge-response (src/security/peer-auth.ts) over real loopback sockets:
 * same key on both sides passes both ways, a wrong key is refused on both sides, and a peer that
 * speaks anything else (a relocation HELLO of an old xvm, garbage, too many bytes, silence) is
 * closed before anything it sent is used.
 */
import { randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AUTH_MAGIC, CHALLENGE_BYTES, PeerAuthError, RESPONSE_BYTES, acceptPeer, connectPeer } from "../../src/security/peer-auth.ts";

const servers: Server[] = [];
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

async function pair(): Promise<[client: Socket, server: Socket]> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const server = createServer({ pauseOnConnect: true }, (s) => accepted(s));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const client = connect({ host: "127.0.0.1", port: (server.address() as { port: number }).port });
  sockets.push(client);
  const remote = await got;
  sockets.push(remote);
  return [client, remote];
}

function reason(p: Promise<unknown>): Promise<string> {
  return p.then(() => "ok", (e: unknown) => (e instanceof PeerAuthError ? e.reason : `other: ${String(e)}`));
}

describe("peer authentication", () => {
  it("passes both ways with the same key, and the connection carries data afterwards", async () => {
    const key = randomBytes(32);
    const [c, s] = await pair();
    await Promise.all([acceptPeer(s, key, { purpose: "relocation" }), connectPeer(c, key, { purpose: "relocation" })]);
    const echoed = new Promise<string>((r) => c.once("data", (d: Buffer) => r(d.toString())));
    s.on("data", (d: Buffer) => s.write(d));
    s.resume();
    c.resume();
    c.write("after");
    expect(await echoed).toBe("after");
  });

  it("refuses a different key on both sides", async () => {
    const [c, s] = await pair();
    const [server, client] = await Promise.all([
      reason(acceptPeer(s, randomBytes(32), { purpose: "relocation" })),
      reason(connectPeer(c, randomBytes(32), { purpose: "relocation" })),
    ]);
    expect([server, client]).toEqual(["bad-key", "bad-key"]);
  });

  it("refuses the same key used for another purpose (a proof is bound to its channel)", async () => {
    const key = randomBytes(32);
    const [c, s] = await pair();
    const [server, client] = await Promise.all([
      reason(acceptPeer(s, key, { purpose: "relocation" })),
      reason(connectPeer(c, key, { purpose: "qemu-stream" })),
    ]);
    expect([server, client]).toEqual(["bad-key", "bad-key"]);
  });

  it("closes a peer that sends a relocation HELLO, garbage or more than the response, unread", async () => {
    for (const bytes of [
      Buffer.from("\0\0\0\x50\x01\0\0\0(xvm-relocation (version 1) (host evil) (software 'xvm 0.1.0'))"),
      Buffer.concat([Buffer.from("NOTAUTH!"), randomBytes(64)]),
      Buffer.concat([AUTH_MAGIC, randomBytes(64), Buffer.from("(receive)")]),
    ]) {
      const [c, s] = await pair();
      const closed = new Promise<void>((r) => c.on("close", () => r()));
      c.on("error", () => {});
      c.resume(); // a socket with unread data never reports its close
      const server = reason(acceptPeer(s, randomBytes(32), { purpose: "relocation" }));
      c.write(bytes);
      expect(["protocol", "bad-key"]).toContain(await server);
      await closed;
    }
  });

  it("gives up on a silent peer after the deadline", async () => {
    const [c, s] = await pair();
    c.on("error", () => {});
    expect(await reason(acceptPeer(s, randomBytes(32), { purpose: "relocation", timeoutMs: 100 }))).toBe("timeout");
  });

  it("a client refuses a server that does not speak the protocol or sends a bad proof", async () => {
    const key = randomBytes(32);
    let [c, s] = await pair();
    s.write(Buffer.from("(xvm-relocation (version 1))\n".padEnd(CHALLENGE_BYTES, " ")));
    expect(await reason(connectPeer(c, key, { purpose: "relocation" }))).toBe("protocol");
    // A fake destination that accepts anything without the key: its proof cannot match.
    [c, s] = await pair();
    s.write(Buffer.concat([AUTH_MAGIC, randomBytes(32)]));
    s.on("data", (d: Buffer) => {
      if (d.length >= RESPONSE_BYTES) s.write(Buffer.concat([Buffer.from([1]), randomBytes(32)]));
    });
    s.resume();
    expect(await reason(connectPeer(c, key, { purpose: "relocation" }))).toBe("bad-key");
  });
});
