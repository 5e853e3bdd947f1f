/**
 * Metrics and events of the compiled daemon (issue 17 items 7, 8): `GET /metrics` on the control
 * socket and on the opt-in TCP `config/metrics-address`, parsed by a real Prometheus parser, with a
 * guest's series while it runs; `GET /events` and `xm events` report a create and a destroy as they
 * happen, and the daemon going degraded; a refresh moves the TCP listener.
 */
import { spawn } from "node:child_process";
import { request } from "node:http";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { freePort } from "../helpers/ports.ts";
import { parseMetrics, sample } from "../helpers/prometheus.ts";
import { startXend, xmOk, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
let root: string;
let xend: Xend | undefined;
let port: number;

function get(options: { socketPath?: string; port?: number; path: string }): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ ...options, host: options.port ? "127.0.0.1" : undefined, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolvePromise({ status: res.statusCode ?? 0, type: String(res.headers["content-type"]), body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Follows GET /events on the control socket; `lines` fills as events come. */
function follow(): { lines: Array<Record<string, unknown>>; close(): void } {
  const lines: Array<Record<string, unknown>> = [];
  let buffered = "";
  const req = request({ socketPath: join(root, "var/run/xend/control.sock"), path: "/events", method: "GET" }, (res) => {
    res.setEncoding("utf8").on("data", (d: string) => {
      buffered += d;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        buffered = buffered.slice(nl + 1);
        if (!("ping" in line)) lines.push(line);
      }
    });
  });
  req.on("error", () => undefined);
  req.end();
  return { lines, close: () => req.destroy() };
}

/** Publishes the edited values and has the (foreground, unsupervised) daemon re-read them. */
function refresh(): void {
  expect(run(["svccfg", "-s", "xend:default", "refresh"], { root })).toMatchObject({ code: 0, stderr: "" });
  expect(run(["xend", "reload"], { root }).code).toBe(0);
}

beforeAll(async () => {
  port = await freePort();
  root = prepareRoot(tempRoot("xvm-metrics-"), { relocation: false, props: { "metrics-address": `127.0.0.1:${port}` } });
  xend = await startXend(root);
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

describe("events", () => {
  it("GET /events and xm events report a guest's create and destroy as they happen", async () => {
    const stream = follow();
    await waitFor(async () => (await get({ socketPath: join(root, "var/run/xend/control.sock"), path: "/metrics" })).body.includes("xend_event_subscribers 1"), "the stream to subscribe");
    const xm = spawn(xvmBin(), ["xm", "events", "--count", "2"], { env: { ...process.env, XVM_ROOT: root }, stdio: ["ignore", "pipe", "pipe"] });
    let xmOut = "";
    xm.stdout!.setEncoding("utf8").on("data", (d: string) => (xmOut += d));
    const xmDone = new Promise<number | null>((r) => xm.on("close", (code) => r(code)));
    await waitFor(async () => (await get({ socketPath: join(root, "var/run/xend/control.sock"), path: "/metrics" })).body.includes("xend_event_subscribers 2"), "xm events to subscribe");
    try {
      xmOk(root, "create", join(repo, "examples/idle.cfg"));
      xmOk(root, "destroy", "idle1");
      await waitFor(() => stream.lines.length >= 2, "two events on the stream");
      expect(stream.lines.map((l) => [l.type, l.event, l.name, l.domid])).toEqual([["domain", "created", "idle1", 1], ["domain", "destroyed", "idle1", 1]]);
      for (const l of stream.lines) expect(l.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(await xmDone).toBe(0);
      expect(xmOut).toMatch(/^\S+ domain idle1 \(id 1\): created\n\S+ domain idle1 \(id 1\): destroyed\n$/);
    } finally {
      stream.close();
      xm.kill("SIGKILL");
    }
  });

  it("reports the service going degraded (a bad value refreshed) and back online", async () => {
    // Nothing happens meanwhile: --timeout ends it, exit 0, nothing printed.
    expect(run(["xm", "events", "--json", "--count", "1", "--timeout", "0.2"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    const stream = follow();
    await waitFor(async () => (await get({ socketPath: join(root, "var/run/xend/control.sock"), path: "/metrics" })).body.includes("xend_event_subscribers 1"), "the stream to subscribe");
    try {
      expect(run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "999"], { root }).code).toBe(0);
      refresh();
      await waitFor(() => stream.lines.some((l) => l.type === "service"), "a service event");
      expect(stream.lines.find((l) => l.type === "service")).toMatchObject({ type: "service", state: "degraded", reasons: [expect.stringContaining("dom0-cpus")] });
      expect(run(["svccfg", "-s", "xend", "setprop", "config/dom0-cpus", "=", "0"], { root }).code).toBe(0);
      refresh();
      await waitFor(() => stream.lines.some((l) => l.type === "service" && l.state === "online"), "the service back online");
    } finally {
      stream.close();
    }
  });
});

describe("metrics", () => {
  it("GET /metrics on the control socket and on config/metrics-address: Prometheus text with a guest's series", async () => {
    xmOk(root, "create", join(repo, "examples/idle.cfg"));
    const sock = await get({ socketPath: join(root, "var/run/xend/control.sock"), path: "/metrics" });
    expect(sock.status).toBe(200);
    expect(sock.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const fams = parseMetrics(sock.body);
    expect(sample(fams, "xend_degraded")).toBe(0);
    expect(sample(fams, "xend_uptime_seconds")).toBeGreaterThan(0);
    expect(sample(fams, "xend_plugin_state", { plugin: "enable-dump", state: "running" })).toBe(1);
    expect(sample(fams, "xend_domain_memory_bytes", { domain: "idle1", domid: "2" })).toBe(64 * 2 ** 20);
    expect(sample(fams, "xend_domain_vcpus", { domain: "idle1" })).toBe(1);
    expect(sample(fams, "xend_domain_cpu_seconds_total", { domain: "idle1" })).toBeGreaterThanOrEqual(0);
    expect(sample(fams, "xend_domain_events_total", { event: "created" })).toBe(2);
    expect(sample(fams, "xend_domain_events_total", { event: "destroyed" })).toBe(1);
    expect(sample(fams, "xend_migrations_total", { direction: "in" })).toBe(0);
    expect(sample(fams, "xend_dump_files")).toBe(0);

    const tcp = await get({ port, path: "/metrics" });
    expect(tcp.status).toBe(200);
    expect(tcp.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(sample(parseMetrics(tcp.body), "xend_domain_vcpus", { domain: "idle1" })).toBe(1);
    // Nothing else of the control API is served on TCP.
    expect((await get({ port, path: "/domains" })).status).toBe(404);
  });

  it("a refresh moves the TCP listener; an empty address closes it", async () => {
    const other = await freePort();
    expect(run(["svccfg", "-s", "xend", "setprop", "config/metrics-address", "=", `127.0.0.1:${other}`], { root }).code).toBe(0);
    refresh();
    await waitFor(async () => (await get({ port: other, path: "/metrics" }).catch(() => undefined))?.status === 200, "metrics on the new port");
    await expect(get({ port, path: "/metrics" })).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(run(["svccfg", "-s", "xend", "setprop", "config/metrics-address", "=", '""'], { root }).code).toBe(0);
    refresh();
    await waitFor(async () => (await get({ port: other, path: "/metrics" }).catch((e: NodeJS.ErrnoException) => e.code)) === "ECONNREFUSED", "the TCP listener closed");
    expect((await get({ socketPath: join(root, "var/run/xend/control.sock"), path: "/metrics" })).status).toBe(200);
  });
});
