/**
 * The relocation server under the restarter (`svcadm enable -s xend`): hosts-allow as xend applied
 * it (a peer connecting from 127.0.0.2 is refused with the default `^localhost$`, logged, and
 * closed before anything it sent is read; allowed after `svccfg setprop` + `svcadm refresh`), and
 * address, port and on/off applied by a refresh without restarting the daemon — and without
 * breaking a migration in progress.
 */
import { createHash } from "node:crypto";
import { connect, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode, Msg } from "../../plugins/relocation/channel.ts";
import { RELOCATION_AUTH_PURPOSE } from "../../src/security/relocation-key.ts";
import { connectPeer } from "../../src/security/peer-auth.ts";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, tempRoot } from "../helpers/cli.ts";
import { freePort } from "../helpers/ports.ts";
import { TEST_RELOCATION_KEY, writeRelocationKey } from "../helpers/relocation-key.ts";
import { daemonPid, explained, onRoot, setLive, svcState, xendLog, type Xvm } from "../helpers/host.ts";
import {
  background, createGuest, digest, domains, ok, progressAtLeast, setProps, startHost, waitFor, type Host,
} from "../helpers/relocation.ts";

type Probe = "hello" | "closed" | "refused";

/**
 * Connects (from `from` if given), authenticates with the test's shared key, sends a relocation
 * HELLO and reports what the server did.
 */
function probe(host: string, port: number, from?: string): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(from ? { localAddress: from } : {}) });
    let got = Buffer.alloc(0);
    let settled = false;
    const done = (p: Probe) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(p);
    };
    socket.on("connect", () => {
      connectPeer(socket, TEST_RELOCATION_KEY, { purpose: RELOCATION_AUTH_PURPOSE }).then(() => {
        socket.on("data", (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 4 && got.length >= 4 + got.readUInt32BE(0)) done(got.subarray(8).toString().startsWith("(xvm-relocation (version 2)") ? "hello" : "closed");
        });
        socket.resume();
        socket.write(encode(Msg.HELLO, ["xvm-relocation", ["version", "2"]]));
      }, () => done("closed"));
    });
    socket.on("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "closed"));
    socket.on("close", () => done("closed"));
  });
}

let x: Xvm;
let port: number;
let src: Host | undefined;

beforeAll(async () => {
  x = onRoot(tempRoot("xvm-reloc-srv-"));
  port = await freePort();
  writeRelocationKey(x.root);
  setProps(x.root, { "xend-relocation-port": String(port) });
  ok(x("svcadm", "enable", "-s", "xend"));
  expect(svcState(x)).toBe("online");
  await waitFor(() => xendLog(x.root).includes(`relocation server listening on 127.0.0.1:${port}`), "the relocation listener");
});

afterAll(async () => {
  if (src) await cleanupRoot(src.root, [src.xend.pid]);
  if (x) await cleanupRoot(x.root);
});

describe("hosts-allow", () => {
  it("refuses a peer from 127.0.0.2 with the default ^localhost$, logs it, and answers localhost", async () => {
    expect(await probe("127.0.0.1", port, "127.0.0.2")).toBe("closed");
    expect(xendLog(x.root)).toMatch(/\] WARNING \(relocation\/reject-log\) Rejected connection from 127\.0\.0\.2 \(127\.0\.0\.2\)\.\n/);
    expect(await probe("127.0.0.1", port)).toBe("hello");
  });

  it("allows it after svccfg setprop + svcadm refresh, without a restart", async () => {
    const pid = daemonPid(x.root);
    // svccfg's double quotes; `\\\\.` is a backslash and a dot once svccfg has read it.
    await setLive(x, { "xend-relocation-hosts-allow": '"^localhost$ ^127\\\\.0\\\\.0\\\\.2$"' });
    expect(await probe("127.0.0.1", port, "127.0.0.2")).toBe("hello");
    expect(await probe("127.0.0.1", port, "127.0.0.3")).toBe("closed");
    expect(daemonPid(x.root)).toBe(pid);
  });

  it("reads two adjacent spaces as one separator (xend would have allowed everyone) and warns", async () => {
    await setLive(x, { "xend-relocation-hosts-allow": '"^localhost$  ^127.0.0.2$"' });
    expect(await probe("127.0.0.1", port, "127.0.0.3")).toBe("closed");
    expect(await probe("127.0.0.1", port, "127.0.0.2")).toBe("hello");
    expect(xendLog(x.root)).toContain("has adjacent spaces: xend would have read an empty pattern that allows every host; here they only separate patterns");
  });

  it("keeps the previous list when a refresh brings an invalid pattern, and says why", async () => {
    await setLive(x, { "xend-relocation-hosts-allow": '"^ok$ (unclosed"' });
    await explained(x, "'(unclosed' is not a valid regular expression");
    expect(await probe("127.0.0.1", port, "127.0.0.2")).toBe("hello");
    await setLive(x, { "xend-relocation-hosts-allow": '""' });
    await waitFor(() => svcState(x) === "online", "xend online again");
    expect(await probe("127.0.0.1", port, "127.0.0.7")).toBe("hello");
  });
});

describe("listener changes on refresh", () => {
  it("moves to a new port, to another address, to all addresses, off and on again, in the same daemon", async () => {
    const pid = daemonPid(x.root);
    const next = await freePort();
    await setLive(x, { "xend-relocation-port": String(next) });
    expect(await probe("127.0.0.1", port)).toBe("refused");
    expect(await probe("127.0.0.1", next)).toBe("hello");
    port = next;

    await setLive(x, { "xend-relocation-address": "127.0.0.3" });
    expect(await probe("127.0.0.1", port)).toBe("refused");
    expect(await probe("127.0.0.3", port)).toBe("hello");

    await setLive(x, { "xend-relocation-address": '""' });
    expect(await probe("127.0.0.5", port)).toBe("hello");
    expect(await probe("127.0.0.1", port)).toBe("hello");

    await setLive(x, { "xend-relocation-server": "false" });
    expect(await probe("127.0.0.1", port)).toBe("refused");
    expect(svcState(x)).toBe("online");
    await setLive(x, { "xend-relocation-server": "true", "xend-relocation-address": "127.0.0.1" });
    expect(await probe("127.0.0.1", port)).toBe("hello");
    expect(daemonPid(x.root)).toBe(pid);
  });

  it("waits for a port in use without degrading the daemon, and degrades it for an address it does not have", async () => {
    const status = () => unixJson<{ enabled: boolean; listening: string | null; error?: string }>(`${x.root}/var/run/xend/control.sock`, "GET", "/plugins/relocation/status");
    const held = await freePort();
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(held, "127.0.0.1", () => r()));
    try {
      await setLive(x, { "xend-relocation-port": String(held) });
      expect(await status()).toEqual({ enabled: true, listening: null, error: `cannot listen on 127.0.0.1:${held}: EADDRINUSE` });
      expect(xendLog(x.root)).toContain(`WARNING (relocation/server) relocation server: 127.0.0.1:${held} is in use; retrying for 30 s`);
      expect(svcState(x)).toBe("online");
    } finally {
      await new Promise<void>((r) => holder.close(() => r()));
    }
    await waitFor(async () => (await status()).listening === `127.0.0.1:${held}`, "the listener to take the freed port");
    port = held;

    await setLive(x, { "xend-relocation-address": "10.255.255.1" });
    await explained(x, `relocation server cannot listen on 10.255.255.1:${port}: EADDRNOTAVAIL`);
    expect(await status()).toMatchObject({ listening: null, error: `cannot listen on 10.255.255.1:${port}: EADDRNOTAVAIL` });
    await setLive(x, { "xend-relocation-address": "127.0.0.1" });
    await waitFor(() => svcState(x) === "online", "xend online again");
    expect(await probe("127.0.0.1", port)).toBe("hello");
  });

  it("lets a migration in progress finish while the port and hosts-allow change under it", async () => {
    src = await startHost("src");
    createGuest(src, "mover", 'kernel = "sim:memwriter"\nextra = "rate=max wss=24M"\nmemory = 48');
    const zero = createHash("sha256").update(Buffer.alloc((12288 - 1) * 4096)).digest("hex");
    await waitFor(async () => (await digest(src!, "mover")).sha256Rest !== zero, "the guest to write");
    ok(src.x("xm", "pause", "mover"));
    const before = await digest(src, "mover");
    const m = background(src.root, ["xm", "migrate", "-l", "-r", "40", "-p", String(port), "mover", "127.0.0.1"]);
    await progressAtLeast(m, 10);
    await setLive(x, { "xend-relocation-port": String(await freePort()), "xend-relocation-hosts-allow": "^nobody$" });
    const r = await m.done;
    expect(r.code, r.stderr).toBe(0);
    const here = { root: x.root, x, api: <T>(method: string, path: string) => unixJson<T>(`${x.root}/var/run/xend/control.sock`, method, path) } as unknown as Host;
    expect(domains(here).get("mover")!.state).toBe("--p---");
    expect(await digest(here, "mover")).toEqual(before);
    expect(await probe("127.0.0.1", port)).toBe("refused");
  });
});
