/**
 * Legacy xend HTTP interface throughput, next to a baseline measured in the same run on the same
 * server:
 *
 *   GET /xend/domain?detail=1 (20 domains + Domain-0, full SXP records)  vs  GET /trivial (a Hono
 *   route answering "ok"), both on one Hono app behind one Unix socket
 *
 * 16 concurrent clients (raw node:net, as libvirt spoke), in two styles: libvirt's, a new
 * connection per request (`Connection: close`), and keep-alive. Each figure is requests/s and p50
 * and p99 latency over `--seconds` per measurement, after a warm-up. The server runs in a child
 * process (`--server node` through tsx, or `--server bun`), the clients in this one. A third
 * route, `/list-only`, only calls the domain-manager double's list(): the part of the detail
 * list's cost that is the (test double) manager's, not the interface's.
 *
 * Usage: node --import tsx bench/unix-server-rps.ts [--seconds 3] [--clients 16] [--server node|bun]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);

async function serveMain(socket: string): Promise<void> {
  const { Hono } = await import("hono");
  const { createXendApp, withAbsoluteUrl } = await import("../plugins/unix-server/app.ts");
  const { serve } = await import("../src/runtime/serve.ts");
  const { DomainManagerDouble } = await import("../test/helpers/domain-double.ts");
  const domains = new DomainManagerDouble();
  for (let i = 1; i <= 20; i++) {
    domains.add({
      name: `guest${String(i).padStart(2, "0")}`, memory: 256 + i, maxmem: 1024, vcpus: 1 + (i % 4), maxvcpus: 4, cpuTime: i * 1.25,
      kernel: "sim:counter", extra: "hz=10 console=hvc0", vif: [{ mac: `00:16:3e:00:00:${i.toString(16).padStart(2, "0")}`, bridge: "xenbr0" }],
      disk: [`phy:/dev/vg/guest${i},xvda,w`], paused: i % 5 === 0,
    });
  }
  const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
  const app = new Hono();
  app.get("/trivial", (c) => c.text("ok"));
  // The domain manager double's own share of the detail list (it copies every record it returns).
  app.get("/list-only", async (c) => c.text(String((await domains.list()).length)));
  app.route("/", createXendApp({
    domains,
    physInfo: async () => ({ nrCpus: 4 }) as never,
    readLog: async () => "",
    log: silent,
  }));
  await serve({ unix: socket, mode: 0o600 }, (request) => app.fetch(withAbsoluteUrl(request)));
  process.stdout.write("ready\n");
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  count: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function responseLength(buf: Buffer): number | undefined {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const m = /\r\ncontent-length: *(\d+)/i.exec(buf.subarray(0, end).toString("latin1"));
  if (!m) throw new Error(`no Content-Length in ${buf.subarray(0, end).toString("latin1")}`);
  return end + 4 + Number(m[1]);
}

/** One request on a fresh connection, read until the server closes (libvirt's way). */
function oneShot(socket: string, request: string): Promise<number> {
  return new Promise((resolveRequest, reject) => {
    const t0 = performance.now();
    const s = createConnection({ path: socket });
    let got = 0;
    s.on("data", (d: Buffer) => (got += d.length));
    s.on("error", reject);
    s.on("close", () => (got > 0 ? resolveRequest(performance.now() - t0) : reject(new Error("empty answer"))));
    s.once("connect", () => s.write(request));
  });
}

async function measure(socket: string, path: string, keepAlive: boolean, clients: number, ms: number): Promise<Figures> {
  const request = `GET ${path} HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nConnection: ${keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
  const latencies: number[] = [];
  const deadline = performance.now() + ms;
  const worker = async () => {
    if (!keepAlive) {
      while (performance.now() < deadline) latencies.push(await oneShot(socket, request));
      return;
    }
    const s = createConnection({ path: socket });
    await new Promise<void>((ok, fail) => {
      s.once("connect", () => ok());
      s.once("error", fail);
    });
    let buf = Buffer.alloc(0);
    let waiting: (() => void) | undefined;
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const len = responseLength(buf);
      if (len !== undefined && buf.length >= len) {
        buf = buf.subarray(len);
        waiting?.();
      }
    });
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await new Promise<void>((ok) => {
        waiting = ok;
        s.write(request);
      });
      latencies.push(performance.now() - t0);
    }
    s.destroy();
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: clients }, worker));
  const elapsed = performance.now() - start;
  const sorted = latencies.sort((a, b) => a - b);
  return { rps: (latencies.length / elapsed) * 1000, p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: latencies.length };
}

async function startServer(kind: string, socket: string): Promise<ChildProcess> {
  const script = fileURLToPath(import.meta.url);
  const child = kind === "bun"
    ? spawn(join(repo, "node_modules/.bin/bun"), [script, "--serve", socket], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, ["--import", "tsx", script, "--serve", socket], { stdio: ["ignore", "pipe", "inherit"], cwd: repo });
  await new Promise<void>((ok, fail) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("ready")) ok();
    });
    child.once("exit", (code) => fail(new Error(`server exited with ${code}`)));
  });
  return child;
}

async function main(): Promise<void> {
  const seconds = Number(opt("--seconds", "3"));
  const clients = Number(opt("--clients", "16"));
  const server = opt("--server", "node");
  const dir = mkdtempSync(join(tmpdir(), "xvm-us-bench-"));
  const socket = join(dir, "xend-socket");
  const child = await startServer(server, socket);
  try {
    const xend = "/xend/domain?detail=1";
    const size = (await new Promise<number>((ok, fail) => {
      const s = createConnection({ path: socket });
      let n = 0;
      s.on("data", (d: Buffer) => (n += d.length));
      s.on("close", () => ok(n));
      s.on("error", fail);
      s.once("connect", () => s.write(`GET ${xend} HTTP/1.0\r\n\r\n`));
    }));
    console.log(`legacy HTTP interface on a Unix socket: server on ${server}, ${clients} clients, ${seconds} s per figure; ` +
      `the detail list is ${size} bytes with headers (20 guests + Domain-0)`);
    for (const keepAlive of [false, true]) {
      await measure(socket, "/trivial", keepAlive, clients, 500);
      await measure(socket, xend, keepAlive, clients, 500);
      const base = await measure(socket, "/trivial", keepAlive, clients, seconds * 1000);
      const fig = await measure(socket, xend, keepAlive, clients, seconds * 1000);
      const listOnly = await measure(socket, "/list-only", keepAlive, clients, seconds * 1000);
      const mode = keepAlive ? "keep-alive" : "new connection per request (libvirt)";
      console.log(`\n${mode}`);
      const line = (label: string, f: Figures) =>
        console.log(`  ${label.padEnd(28)} ${f.rps.toFixed(0).padStart(7)} req/s   p50 ${f.p50.toFixed(2).padStart(6)} ms   p99 ${f.p99.toFixed(2).padStart(6)} ms   (${f.count} requests)`);
      line(`GET ${xend}`, fig);
      line("GET /trivial (baseline)", base);
      line("GET /list-only (manager)", listOnly);
      console.log(`  ratio: ${(fig.rps / base.rps).toFixed(2)} of the baseline's req/s, p99 ${(fig.p99 / base.p99).toFixed(2)}x the baseline's`);
    }
  } finally {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

if (argv[0] === "--serve") await serveMain(argv[1]!);
else await main();
