import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { docsOf, openApiDocument } from "../../src/daemon/api-router.ts";
import { errorResponse } from "../../src/runtime/http-errors.ts";
import { createDomainManager, type DomainManagerHandle } from "../../src/domain/manager.ts";
import { domainRoutes } from "../../src/daemon/domain-routes.ts";
import { Paths } from "../../src/paths.ts";
import type { Logger } from "../../src/plugin/contract.ts";
import { waitFor } from "../helpers/cli.ts";
import { FakeDriver } from "../helpers/domain-fake-driver.ts";

let root: string;
let manager: DomainManagerHandle;
let driver: FakeDriver;
let app: Hono;

const quiet: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await app.request(path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const cfg = { name: "web1", kernel: "sim:counter", memory: 64, vif: [{}] };

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "xvm-domain-routes-"));
  driver = new FakeDriver();
  manager = createDomainManager({ driver, paths: new Paths(root), log: quiet, fire: async () => {} });
  await manager.attach();
  const log = join(root, "xend.log");
  writeFileSync(log, "[2026-01-01 00:00:00 1] INFO (XendDomain) hello\n");
  app = new Hono();
  app.onError((error) => errorResponse(error, quiet));
  app.route("/domains", domainRoutes(manager, { logFile: () => log, pingMs: 20 }));
});

afterEach(async () => {
  await manager.close();
  rmSync(root, { recursive: true, force: true });
});

describe("domain routes", () => {
  it("creates with xm's defaults and lists, sorted by name", async () => {
    const created = await call("POST", "/domains", { config: cfg });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ domid: 1, name: "web1", memory: 64, vcpus: 1, state: "-b----", config: { on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", disk: [] } });
    expect(created.json.config.vif[0].mac).toMatch(/^00:16:3e:/);
    const list = await call("GET", "/domains");
    expect(list.json.domains.map((d: { name: string }) => d.name)).toEqual(["Domain-0", "web1"]);
    await call("POST", "/domains/web1/pause");
    expect((await call("GET", "/domains?state=paused")).json.domains.map((d: { name: string }) => d.name)).toEqual(["web1"]);
    expect((await call("GET", "/domains?state=running")).json.domains.map((d: { name: string }) => d.name)).toEqual(["Domain-0"]);
  });

  it("answers errors as {code, message} with the table's status, and changes nothing", async () => {
    await call("POST", "/domains", { config: cfg });
    expect(await call("POST", "/domains", { config: cfg })).toEqual({ status: 409, json: { code: "DOMAIN_EXISTS", message: "Domain 'web1' already exists with ID '1'" } });
    expect(await call("GET", "/domains/nope")).toEqual({ status: 404, json: { code: "DOMAIN_NOT_FOUND", message: "Domain 'nope' does not exist." } });
    await call("POST", "/domains/web1/pause");
    // Pausing again is no error (xend 3.4).
    const again = await call("POST", "/domains/web1/pause");
    expect([again.status, again.json.state]).toEqual([200, "--p---"]);
    expect(await call("POST", "/domains/0/destroy")).toEqual({ status: 403, json: { code: "DOMAIN_PRIVILEGED", message: "Cannot destroy privileged domain 0" } });
    const bad = await call("POST", "/domains", { config: { ...cfg, name: "web2", memory: "512" } });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe("XVM_BAD_REQUEST");
    expect(bad.json.message).toContain("config.memory");
    const meaning = await call("POST", "/domains", { config: { ...cfg, name: "web2", vif: [{ mac: "zz" }] } });
    expect(meaning).toEqual({ status: 400, json: { code: "DOMAIN_CONFIG", message: "vif[0].mac 'zz' is not a MAC address (six hex pairs like 00:16:3e:01:02:03)" } });
    expect((await call("POST", "/domains", "{not json")).status).toBe(400);
    expect((await call("GET", "/domains")).json.domains).toHaveLength(2);
  });

  it("carries out each operation", async () => {
    await call("POST", "/domains", { config: { ...cfg, maxmem: 128, maxvcpus: 2 } });
    expect((await call("POST", "/domains/web1/memory", { target: 32 })).json.memory).toBe(32);
    expect((await call("POST", "/domains/web1/maxmem", { maxmem: 96 })).json.maxmem).toBe(96);
    expect((await call("POST", "/domains/web1/vcpus", { count: 2 })).json.vcpus).toBe(2);
    expect((await call("POST", "/domains/1/vcpus/pin", { vcpu: 0, cpus: "1-2" })).status).toBe(200);
    expect((await call("GET", "/domains/web1/vcpus")).json.vcpus[0].affinity).toEqual([1, 2]);
    expect((await call("POST", "/domains/1/vcpus/pin", { vcpu: 0, cpus: "x" })).json).toEqual({ code: "DOMAIN_CONFIG", message: "CPU list 'x': 'x' is not a CPU number or range (e.g. 0-3,^1)" });
    expect((await call("POST", "/domains/web1/rename", { name: "www" })).json.name).toBe("www");
    expect((await call("GET", "/domains/www/network")).json.vifs[0].mac).toMatch(/^00:16:3e:/);
    expect(await call("POST", "/domains/www/console", { data: "help\n" })).toEqual({ status: 200, json: { ok: true } });
    expect((await call("GET", "/domains/www/console")).json).toEqual({ text: "booting sim:counter\n" });
    expect(await call("POST", "/domains/www/trigger", { trigger: "init" })).toEqual({ status: 501, json: { code: "XVM_NOT_IMPLEMENTED", message: "trigger init (an HVM trigger) on the fake hypervisor is not implemented" } });
    expect((await call("POST", "/domains/www/sysrq", { key: "ab" })).status).toBe(400);
    expect((await call("POST", "/domains/www/shutdown", { reason: "poweroff" })).json.restartCount).toBe(0);
    // The guest stops a moment after the request returns (the driver reports it).
    await waitFor(async () => (await call("GET", "/domains/www")).status === 404, "www to be gone after its poweroff", 5_000).catch(() => undefined);
    expect((await call("GET", "/domains/www")).status).toBe(404);
  });

  it("defines, starts and deletes managed domains", async () => {
    const defined = await call("POST", "/domains/define", { config: { ...cfg, name: "db" } });
    expect([defined.status, defined.json.domid, defined.json.managed]).toEqual([201, null, true]);
    expect((await call("POST", "/domains/db/start", {})).json.domid).toBe(1);
    expect((await call("DELETE", "/domains/db")).status).toBe(409);
    expect((await call("POST", "/domains/db/destroy")).json).toEqual({ ok: true });
    expect(await call("DELETE", "/domains/db")).toEqual({ status: 200, json: { ok: true } });
  });

  it("serves host information through Domain-0 only", async () => {
    const node = await call("GET", "/domains/0/node");
    expect(Object.keys(node.json).slice(0, 4)).toEqual(["host", "release", "version", "machine"]);
    expect(node.json.xend_config_format).toBe(4);
    expect((await call("GET", "/domains/Domain-0/log")).json).toEqual({ text: "[2026-01-01 00:00:00 1] INFO (XendDomain) hello\n" });
    const dmesg = await call("GET", "/domains/0/dmesg");
    expect(dmesg.json.text).toMatch(/^\(XEN\) fake hypervisor 3\.4\.0-fake on fakehost: 4 CPUs, 4096 MiB\n$/);
    expect((await call("POST", "/domains/0/dmesg/clear")).json.text).toBe(dmesg.json.text);
    expect((await call("GET", "/domains/0/dmesg")).json.text).toBe("");
    await call("POST", "/domains", { config: cfg });
    expect((await call("GET", "/domains/web1/node")).status).toBe(404);
  });

  it("streams a console as NDJSON: what it holds, a live marker, what comes, pings, and the end", async () => {
    await call("POST", "/domains", { config: cfg });
    const res = await app.request("/domains/web1/console?follow=1");
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const reader = res.body!.getReader();
    const lines: unknown[] = [];
    let buffered = "";
    const decoder = new TextDecoder();
    const next = async () => {
      while (!buffered.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffered += decoder.decode(value);
      }
      const nl = buffered.indexOf("\n");
      const line = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      return line;
    };
    lines.push(await next());
    lines.push(await next());
    driver.print(1, "heartbeat 7\n");
    lines.push(await next());
    // Nothing more to say: a keep-alive comes within the ping interval.
    expect(await next()).toEqual({ ping: 1 });
    expect(lines).toEqual([{ data: "booting sim:counter\n" }, { live: 1 }, { data: "heartbeat 7\n" }]);
    let line: unknown;
    void manager.destroy("web1");
    do line = await next(); while ((line as { ping?: number })?.ping);
    expect(line).toEqual({ end: "the domain was destroyed" });
    expect(await next()).toBeUndefined();
  });

  it("documents every route for /openapi.json", () => {
    const doc = openApiDocument({ title: "t", version: "1" }, [{ prefix: "/domains", docs: docsOf(domainRoutes(manager)) }]) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths).sort()).toEqual([
      "/domains", "/domains/define", "/domains/on-xend-start", "/domains/on-xend-stop", "/domains/restore", "/domains/{dom}", "/domains/{dom}/block", "/domains/{dom}/block/{dev}", "/domains/{dom}/console", "/domains/{dom}/destroy", "/domains/{dom}/dmesg",
      "/domains/{dom}/dmesg/clear", "/domains/{dom}/log", "/domains/{dom}/maxmem", "/domains/{dom}/memory", "/domains/{dom}/network", "/domains/{dom}/network/{dev}",
      "/domains/{dom}/node", "/domains/{dom}/pause", "/domains/{dom}/rename", "/domains/{dom}/resume", "/domains/{dom}/save", "/domains/{dom}/sched-credit", "/domains/{dom}/shutdown", "/domains/{dom}/start",
      "/domains/{dom}/suspend", "/domains/{dom}/sysrq", "/domains/{dom}/trigger", "/domains/{dom}/unpause", "/domains/{dom}/vcpus", "/domains/{dom}/vcpus/pin",
    ]);
    expect(Object.keys(doc.paths["/domains"]!).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/domains/{dom}"]!).sort()).toEqual(["delete", "get"]);
    mkdirSync(join(root, "x"), { recursive: true });
  });
});
