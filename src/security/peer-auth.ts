/**
 * Mutual authentication of two hosts sharing a secret key, before either reads anything else from
 * the connection: an HMAC-SHA-256 challenge-response over nonces from both sides.
 *
 * The relocation channel (plugins/relocation) runs it on every connection; any other TCP channel
 * between two xvm hosts (the qemu driver's migration stream) can run it the same way with its own
 * `purpose` label, so that a proof made for one channel is worth nothing on another.
 *
 *   acceptor (server)                                   initiator (client)
 *                       <- connect
 *   CHALLENGE   "XVMAUTH1" | ns (32 random bytes)   ->
 *                                                   <-  RESPONSE  "XVMAUTH1" | nc (32) | HMAC(K, "xvm-auth/1 client" 0 purpose 0 ns nc)
 *   checks the HMAC (constant time)
 *   VERDICT     0x01 | HMAC(K, "xvm-auth/1 server" 0 purpose 0 nc ns)   ->   (or 0x00 | 32 zero bytes, then close)
 *                                                       checks the server's HMAC
 *
 * Every message has a fixed size (40, 72, 33 bytes) and is read with a deadline; a peer sending
 * more than that before the verdict, or anything else, is a protocol error and the socket is closed
 * unread. Fresh nonces on both sides make a recorded exchange useless (no replay), and the
 * acceptor's proof shows the initiator it talks to a holder of the key (no fake destination).
 *
 * What it does not do: encrypt or sign the traffic that follows. Someone able to rewrite packets
 * between the two hosts can still take over an authenticated connection; docs/security.md says
 * where that matters.
 *
 * API: `acceptPeer(socket, key, options)` on the accepting side, `connectPeer(socket, key, options)`
 * on the connecting side; both resolve once the peer proved it holds `key` and reject with a
 * {@link PeerAuthError} (`reason`: bad-key, protocol, timeout, closed) otherwise. Neither closes
 * the socket on success; on failure the acceptor has closed it, the initiator should.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";

export const AUTH_MAGIC = Buffer.from("XVMAUTH1", "latin1");
const NONCE_BYTES = 32;
const MAC_BYTES = 32;
export const CHALLENGE_BYTES = AUTH_MAGIC.length + NONCE_BYTES;
export const RESPONSE_BYTES = AUTH_MAGIC.length + NONCE_BYTES + MAC_BYTES;
export const VERDICT_BYTES = 1 + MAC_BYTES;
const DEFAULT_TIMEOUT_MS = 10_000;

export type PeerAuthFailure = "bad-key" | "protocol" | "timeout" | "closed";

export class PeerAuthError extends Error {
  constructor(readonly reason: PeerAuthFailure, message: string) {
    super(message);
    this.name = "PeerAuthError";
  }
}

export interface PeerAuthOptions {
  /** Names the channel (e.g. "relocation"); both sides must use the same one. */
  purpose: string;
  /** Deadline for each step, ms (default 10 s). */
  timeoutMs?: number;
}

function proof(key: Buffer, role: "client" | "server", purpose: string, first: Buffer, second: Buffer): Buffer {
  return createHmac("sha256", key).update(`xvm-auth/1 ${role}\0${purpose}\0`).update(first).update(second).digest();
}

/**
 * Reads exactly `n` bytes from a socket that is paused or flowing, with a deadline. More bytes
 * than `n` arriving at once are a protocol error (the peer must wait for our answer).
 */
function readExactly(socket: Socket, n: number, timeoutMs: number, what: string, magic?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const finish = (error?: PeerAuthError, data?: Buffer) => {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("error", onError);
      socket.pause();
      if (error) reject(error);
      else resolve(data!);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      // A peer speaking something else (an old xvm's HELLO) is told off at once, not at the deadline.
      if (magic && got >= magic.length && !Buffer.concat(chunks).subarray(0, magic.length).equals(magic)) {
        finish(new PeerAuthError("protocol", `the peer does not speak the xvm authentication protocol (no ${magic.toString("latin1")} ${what})`));
      } else if (got > n) finish(new PeerAuthError("protocol", `the peer sent more than the ${n}-byte ${what}`));
      else if (got === n) finish(undefined, Buffer.concat(chunks, n));
    };
    const onClose = () => finish(new PeerAuthError("closed", `the peer closed the connection before its ${what}`));
    const onError = (e: Error) => finish(new PeerAuthError("closed", `connection error before the ${what}: ${e.message}`));
    const timer = setTimeout(() => finish(new PeerAuthError("timeout", `no ${what} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("error", onError);
    socket.resume();
  });
}

function write(socket: Socket, data: Buffer): void {
  if (!socket.destroyed) socket.write(data);
}

/**
 * The accepting side. Resolves once the peer proved it holds `key` (and was sent our proof); on any
 * failure the socket is closed — after a refusal verdict for a wrong key — and the promise rejects.
 */
export async function acceptPeer(socket: Socket, key: Buffer, options: PeerAuthOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const serverNonce = randomBytes(NONCE_BYTES);
  try {
    write(socket, Buffer.concat([AUTH_MAGIC, serverNonce]));
    const response = await readExactly(socket, RESPONSE_BYTES, timeoutMs, "authentication response", AUTH_MAGIC);
    if (!response.subarray(0, AUTH_MAGIC.length).equals(AUTH_MAGIC)) throw new PeerAuthError("protocol", "the peer does not speak the xvm authentication protocol (no XVMAUTH1 response)");
    const clientNonce = response.subarray(AUTH_MAGIC.length, AUTH_MAGIC.length + NONCE_BYTES);
    const mac = response.subarray(AUTH_MAGIC.length + NONCE_BYTES);
    const expected = proof(key, "client", options.purpose, serverNonce, clientNonce);
    if (!timingSafeEqual(mac, expected)) {
      socket.end(Buffer.concat([Buffer.from([0]), Buffer.alloc(MAC_BYTES)]));
      setTimeout(() => socket.destroy(), 2_000).unref?.();
      throw new PeerAuthError("bad-key", "the peer does not hold this host's key");
    }
    write(socket, Buffer.concat([Buffer.from([1]), proof(key, "server", options.purpose, clientNonce, serverNonce)]));
  } catch (error) {
    if (!(error instanceof PeerAuthError) || error.reason !== "bad-key") socket.destroy();
    throw error;
  }
}

/** The connecting side. Resolves once the acceptor accepted our proof and proved it holds `key`. */
export async function connectPeer(socket: Socket, key: Buffer, options: PeerAuthOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const challenge = await readExactly(socket, CHALLENGE_BYTES, timeoutMs, "authentication challenge", AUTH_MAGIC);
  if (!challenge.subarray(0, AUTH_MAGIC.length).equals(AUTH_MAGIC)) throw new PeerAuthError("protocol", "the server does not speak the xvm authentication protocol (no XVMAUTH1 challenge)");
  const serverNonce = challenge.subarray(AUTH_MAGIC.length);
  const clientNonce = randomBytes(NONCE_BYTES);
  write(socket, Buffer.concat([AUTH_MAGIC, clientNonce, proof(key, "client", options.purpose, serverNonce, clientNonce)]));
  const verdict = await readExactly(socket, VERDICT_BYTES, timeoutMs, "authentication verdict");
  if (verdict[0] === 0) throw new PeerAuthError("bad-key", "the server refused this host's key: the two hosts do not share the same key");
  if (verdict[0] !== 1) throw new PeerAuthError("protocol", "the server answered the authentication with something else");
  if (!timingSafeEqual(verdict.subarray(1), proof(key, "server", options.purpose, clientNonce, serverNonce))) {
    throw new PeerAuthError("bad-key", "the server's proof does not match this host's key: it does not hold the same key");
  }
}
