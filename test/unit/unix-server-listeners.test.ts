/**
 * The unix-server plugin's listeners: where the socket is and with which modes, stale sockets,
 * refresh turning them on, off and elsewhere without a restart, TCP, and stop.
 */
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import plugin from "../../plugins/unix-server/index.ts";
import { waitFor } from "../helpers/cli.ts";
import { DomainManagerDouble } from "../helpers/domain-double.ts";
import { startPlugin, type Harness } from "../helpers/plugin-harness.ts";
import { freePort } from "../helpers/ports.ts";
import { exchange, libvirtGet, libvirtPost, parseResponse } from "../helpers/raw-http.ts";

type Config = Parameters<typeof plugin.setup>[0]["config"];

let root: string;
let h: Harness<Config> | undefined;
const servers: Server[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-us-listen-"));
});

afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const s of servers.splice(0)) await new Promise((r) => s.close(() => r(undefined)));
  rmSync(root, { recursive: true, force: true });
});

const start = async (config: Partial<Config> = {}) => {
  h = await startPlugin(plugin, { root, domains: new DomainManagerDouble(), config });
  return h;
};

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => {
      c.on("error", () => undefined);
      c.resume();
      c.end("not xend\n");
    });
    s.once("error", reject);
    s.listen(path, () => {
      servers.push(s);
      resolve(s);
    });
  });
}

async function answers(path: string): Promise<boolean> {
  try {
    return (await libvirtGet(path, "/xend/")).body === "(ls  node domain)";
  } catch {
    return false;
  }
}

async function refused(path: string): Promise<boolean> {
  try {
    await exchange(path, "GET /xend/ HTTP/1.0\r\n\r\n", { timeoutMs: 2000 });
    return false;
  } catch (error) {
    return ["ENOENT", "ECONNREFUSED"].includes((error as NodeJS.ErrnoException).code ?? "");
  }
}

describe("the Unix socket", () => {
  it("serves on var/lib/xend/xend-socket, socket 0600 in a 0700 folder", async () => {
    const harness = await start();
    const sock = join(root, "var/lib/xend/xend-socket");
    expect(lstatSync(sock).isSocket()).toBe(true);
    expect(lstatSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, "var/lib/xend")).mode & 0o777).toBe(0o700);
    expect(await answers(sock)).toBe(true);
    expect(harness.log.lines).toContain(`INFO (unix-server) legacy HTTP interface listening on ${sock}`);
    expect(harness.degraded).toBeUndefined();
  });

  it("never chmods an existing folder: 0755 stays 0755, a world-writable one is refused and stays as it was (issue 13 §2)", async () => {
    mkdirSync(join(root, "var/lib/xend"), { recursive: true, mode: 0o755 });
    await start();
    expect(statSync(join(root, "var/lib/xend")).mode & 0o777).toBe(0o755);
    await h!.stop();
    h = undefined;
    chmodSync(join(root, "var/lib/xend"), 0o777);
    const harness = await start();
    expect(harness.degraded).toBe(`legacy HTTP interface: cannot listen on ${join(root, "var/lib/xend/xend-socket")}: the socket's folder ${join(root, "var/lib/xend")} has mode 0777; it must be 0755 or stricter; xend does not change the mode of a folder it did not create: fix it or choose another config/xend-unix-path`);
    expect(statSync(join(root, "var/lib/xend")).mode & 0o777).toBe(0o777);
  });

  it("replaces a stale socket file left by a crash", async () => {
    mkdirSync(join(root, "var/lib/xend"), { recursive: true });
    const live = join(root, "var/lib/xend/live.sock");
    const server = await listen(live);
    const stale = join(root, "var/lib/xend/xend-socket");
    linkSync(live, stale);
    await new Promise((r) => server.close(() => r(undefined)));
    servers.splice(servers.indexOf(server), 1);
    expect(lstatSync(stale).isSocket()).toBe(true);
    const harness = await start();
    expect(harness.degraded).toBeUndefined();
    expect(await answers(stale)).toBe(true);
  });

  it("does not steal a socket another server answers on, and says so", async () => {
    mkdirSync(join(root, "var/lib/xend"), { recursive: true });
    const sock = join(root, "var/lib/xend/xend-socket");
    await listen(sock);
    const harness = await start();
    expect(harness.degraded).toBe(`legacy HTTP interface: cannot listen on ${sock}: ${sock} is in use by another server`);
    expect(harness.log.lines).toContain(`ERROR (unix-server) cannot listen on ${sock}: ${sock} is in use by another server`);
    const r = await exchange(sock, "GET / HTTP/1.0\r\n\r\n");
    expect(r.toString()).toBe("not xend\n");
  });

  it("stops and starts on refresh of xend-unix-server, without a restart", async () => {
    const harness = await start();
    const sock = join(root, "var/lib/xend/xend-socket");
    await harness.refresh({ "xend-unix-server": false });
    expect(existsSync(sock)).toBe(false);
    expect(await refused(sock)).toBe(true);
    expect(harness.openServers.size).toBe(0);
    expect(harness.log.lines).toContain(`INFO (unix-server) legacy HTTP interface no longer listening on ${sock}`);
    await harness.refresh({ "xend-unix-server": true });
    expect(await answers(sock)).toBe(true);
    expect(lstatSync(sock).mode & 0o777).toBe(0o600);
  });

  it("closes idle keep-alive connections when it stops listening", async () => {
    const harness = await start();
    const sock = join(root, "var/lib/xend/xend-socket");
    const client = createConnection({ path: sock });
    let received = "";
    let closed = false;
    client.on("data", (d: Buffer) => (received += d.toString("latin1")));
    client.on("close", () => (closed = true));
    client.write("GET /xend/ HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n");
    await waitFor(() => received.endsWith("(ls  node domain)"), "the keep-alive answer", 5000);
    expect(parseResponse(received).headers.get("connection")).toBe("keep-alive");
    expect(closed).toBe(false);
    await harness.refresh({ "xend-unix-server": false });
    await waitFor(() => closed, "the idle connection to be closed", 5000);
  });

  it("moves to a new xend-unix-path on refresh", async () => {
    const harness = await start();
    const old = join(root, "var/lib/xend/xend-socket");
    await harness.refresh({ "xend-unix-path": "/var/run/xend/legacy.sock" });
    const moved = join(root, "var/run/xend/legacy.sock");
    expect(existsSync(old)).toBe(false);
    expect(await answers(moved)).toBe(true);
    expect(statSync(join(root, "var/run/xend")).mode & 0o777).toBe(0o700);
  });

  it("reports a path it cannot use and recovers on the next refresh", async () => {
    mkdirSync(join(root, "var/lib"), { recursive: true });
    writeFileSync(join(root, "var/lib/xend"), "a file where the folder should be\n");
    const harness = await start();
    expect(harness.degraded).toMatch(/^legacy HTTP interface: cannot listen on .*\/var\/lib\/xend\/xend-socket: .*\/var\/lib\/xend is not a folder/);
    await harness.refresh({ "xend-unix-path": "/var/lib/xend2/xend-socket" });
    expect(harness.degraded).toBeUndefined();
    expect(await answers(join(root, "var/lib/xend2/xend-socket"))).toBe(true);
  });

  it("removes the socket on stop", async () => {
    const harness = await start();
    await harness.stop();
    h = undefined;
    expect(existsSync(join(root, "var/lib/xend/xend-socket"))).toBe(false);
    expect(harness.openServers.size).toBe(0);
  });
});

describe("TCP (xend-http-server)", () => {
  it("is off by default, serves on xend-address:xend-port when turned on, and stops when turned off", async () => {
    const port = await freePort();
    const harness = await start({ "xend-port": port, "xend-address": "127.0.0.1" });
    expect(harness.openServers.size).toBe(1);
    await harness.refresh({ "xend-http-server": true });
    expect(harness.openServers.size).toBe(2);
    const r = await libvirtGet({ host: "127.0.0.1", port }, "/xend/domain");
    expect(r.body).toBe("(Domain-0)");
    expect(harness.log.lines.some((l) => l.startsWith("INFO (unix-server) legacy HTTP interface listening on TCP 127.0.0.1:"))).toBe(true);
    await harness.refresh({ "xend-http-server": false });
    expect(harness.openServers.size).toBe(1);
    await expect(libvirtGet({ host: "127.0.0.1", port }, "/xend/domain")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("listens on 127.0.0.1 by default and is read-only there: every POST answers 403, nothing changes (issue 13 §2)", async () => {
    const port = await freePort();
    const domains = new DomainManagerDouble();
    h = await startPlugin(plugin, { root, domains, config: { "xend-http-server": true, "xend-port": port } });
    expect(h.log.lines.some((l) => l === `INFO (unix-server) legacy HTTP interface listening on TCP 127.0.0.1:${port}`)).toBe(true);
    expect((await libvirtGet({ host: "127.0.0.1", port }, "/xend/domain")).body).toBe("(Domain-0)");
    const config = "(vm (name 'tcp1')(memory 32)(image (linux (kernel 'sim:idle'))))";
    const created = await libvirtPost({ host: "127.0.0.1", port }, "/xend/domain/", [["op", "create"], ["config", config]]);
    expect(created.status).toBe(403);
    expect(created.body).toBe("(xend.err 'The legacy interface over TCP is read-only: operations that change domains or write files are accepted only on the Unix socket (config/xend-unix-path)')");
    expect((await libvirtPost({ host: "127.0.0.1", port }, "/xend/domain/Domain-0", [["op", "dump"], ["file", "x.core"]])).status).toBe(403);
    expect((await domains.list()).map((d) => d.name)).toEqual(["Domain-0"]);
    // The Unix socket still takes operations.
    expect((await libvirtPost(join(root, "var/lib/xend/xend-socket"), "/xend/domain/", [["op", "create"], ["config", config]])).status).toBe(201);
  });

  it("says so when the port is taken, and keeps the Unix socket", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    servers.push(blocker);
    const port = (blocker.address() as { port: number }).port;
    const harness = await start({ "xend-http-server": true, "xend-port": port, "xend-address": "127.0.0.1" });
    expect(harness.degraded).toMatch(new RegExp(`^legacy HTTP interface: cannot listen on TCP 127\\.0\\.0\\.1:${port}: .*(EADDRINUSE|in use)`));
    expect(await answers(join(root, "var/lib/xend/xend-socket"))).toBe(true);
  });
});
