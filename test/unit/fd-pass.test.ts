/**
 * Passing a socket's descriptor to QEMU over QMP (runtime/fd-pass.ts): Node's IPC pipe under
 * vitest, libc's sendmsg through bun:ffi under `bun test` — the same file runs in both. QEMU
 * answers `getfd` only when a descriptor came with it; a TCP connection handed over this way
 * still carries what its peer writes (QEMU holds it, xend's copy unread). readExactly takes the
 * token off a connection without reading ahead.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { QmpClient } from "../../src/hypervisor/qemu/qmp.ts";
import { readExactly } from "../../src/runtime/fd-pass.ts";
import { qemuSkipReason } from "../helpers/qemu-guest.ts";

const skip = qemuSkipReason();
if (skip) console.warn(`fd-pass tests skipped: ${skip}`);

async function until<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A TCP connection over loopback: [the accepted end (never read by the runtime), the connecting end]. */
async function tcpPair(): Promise<[Socket, Socket, Server]> {
  let accepted: Socket | undefined;
  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (s) => (accepted = s));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const client = createConnection({ host: "127.0.0.1", port: (server.address() as { port: number }).port });
  client.on("error", () => {});
  await new Promise((r) => client.once("connect", r));
  const inbound = await until(() => accepted, "the accepted connection");
  return [inbound, client, server];
}

test("readExactly takes the bytes asked for and leaves the rest in the socket", async () => {
  const [inbound, client, server] = await tcpPair();
  try {
    client.write(Buffer.from("0123456789abcdefREST"));
    expect((await readExactly(inbound, 16, 5_000)).toString()).toBe("0123456789abcdef");
    // What follows is still there for whoever reads next.
    inbound.resume();
    const rest = await new Promise<string>((r) => inbound.once("data", (d: Buffer) => r(d.toString())));
    expect(rest).toBe("REST");
  } finally {
    inbound.destroy();
    client.destroy();
    server.close();
  }
});

test("readExactly fails on a connection closed early, and after its deadline", async () => {
  const [inbound, client, server] = await tcpPair();
  try {
    client.write("short");
    await expect(readExactly(inbound, 16, 300)).rejects.toThrow(/5 of 16 bytes within 300 ms/);
    client.end();
    await expect(readExactly(inbound, 16, 5_000)).rejects.toThrow(/closed after 0 of 16 bytes/);
  } finally {
    inbound.destroy();
    client.destroy();
    server.close();
  }
});

describe.skipIf(skip !== undefined)(`descriptors to QEMU over QMP${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let dir: string;
  let qemu: ChildProcess;
  let qmp: QmpClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "xvm-fdpass-"));
    const path = join(dir, "qmp.sock");
    qemu = spawn("qemu-system-x86_64", ["-machine", "none", "-nodefaults", "-no-user-config", "-display", "none", "-qmp", `unix:${path},server=on,wait=off`], { stdio: "ignore" });
    await until(() => (existsSync(path) ? true : undefined), "QEMU's QMP socket");
    qmp = await QmpClient.connect(path, () => {});
  });

  afterAll(() => {
    qmp?.close();
    if (qemu?.pid) process.kill(qemu.pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("this runtime's QMP connection carries descriptors", () => {
    expect(qmp.carriesFds).toBe(true);
  });

  test("getfd without a descriptor is refused; with a socket's descriptor it is taken, and commands after it answer in order", async () => {
    await expect(qmp.execute("getfd", { fdname: "none" })).rejects.toThrow(/SCM_RIGHTS/);
    const [inbound, client, server] = await tcpPair();
    try {
      const [taken, status] = await Promise.all([
        qmp.executeWithFd("getfd", { fdname: "stream" }, inbound),
        qmp.execute<{ status: string }>("query-status"),
      ]);
      expect(taken).toEqual({});
      expect(status.status).toBe("running");
      // QEMU holds its own copy: closing xend's leaves the connection open, so the peer does not see an end.
      let ended = false;
      client.on("end", () => (ended = true));
      inbound.destroy();
      // A QMP round trip later (an end would have arrived over loopback by then) it is still open.
      await qmp.execute("query-status");
      expect(ended).toBe(false);
      // Closing QEMU's copy (closefd) ends it.
      await qmp.execute("closefd", { fdname: "stream" });
      await until(() => (ended ? true : undefined), "the connection to end once QEMU closed its copy");
    } finally {
      client.destroy();
      server.close();
    }
  });
});
