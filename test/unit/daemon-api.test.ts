import { Hono } from "hono";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { ApiRouter } from "../../src/daemon/api-router.ts";
import { createControlApi, type ControlApiOptions, type RefreshResult } from "../../src/daemon/control-api.ts";
import { XvmError } from "../../src/errors.ts";
import { captureLogger } from "../helpers/plugin-host.ts";

const status = {
  pid: 4242,
  root: "/r",
  state: "degraded" as const,
  reasons: ["plugin b (/p/b.js) failed in setup: boom"],
  startedAt: "2026-01-02T03:04:05.000Z",
  version: "0.1.0",
  runtime: "bun 1.4.5",
};

function api(overrides: Partial<ControlApiOptions> = {}): { app: Hono; refreshes: number[]; lines: string[] } {
  const refreshes: number[] = [];
  const lines: string[] = [];
  const pluginApp = new Hono({ strict: false }).basePath("/plugins/web");
  pluginApp.get("/", (c) => c.json({ hello: "world" }));
  const app = createControlApi({
    status: () => status,
    plugins: () => [
      { name: "a", version: "0.1.0", source: "builtin", state: "running", properties: ["a-x"] },
      { name: "b", version: "", source: "/p/b.js", state: "failed", error: "plugin b (/p/b.js) failed in setup: boom", properties: [] },
    ],
    config: () => ({ "a-x": 3, loglevel: "DEBUG", "enable-dump": true }),
    refresh: async (): Promise<RefreshResult> => {
      refreshes.push(Date.now());
      return { state: "online", reasons: [], changes: { "a-x": { from: 3, to: 4 } } };
    },
    pluginRoutes: (name) => (name === "web" ? { routes: pluginApp, state: "running" } : name === "b" ? { routes: new Hono(), state: "failed", error: "boom" } : undefined),
    version: "0.1.0",
    log: captureLogger(lines)("xend.api"),
    ...overrides,
  });
  return { app, refreshes, lines };
}

async function call(app: Hono, method: string, path: string, body?: string): Promise<{ status: number; json: unknown }> {
  const res = await app.request(path, { method, ...(body !== undefined ? { body, headers: { "content-type": "application/json" } } : {}) });
  return { status: res.status, json: await res.json() };
}

describe("control API", () => {
  it("GET /status answers the restarter's shape", async () => {
    const { app } = api();
    expect(await call(app, "GET", "/status")).toEqual({ status: 200, json: status });
  });

  it("GET /plugins lists name, version, source, state and error", async () => {
    const { app } = api();
    const r = await call(app, "GET", "/plugins");
    expect(r.status).toBe(200);
    expect(r.json).toEqual([
      { name: "a", version: "0.1.0", source: "builtin", state: "running", properties: ["a-x"] },
      { name: "b", version: "", source: "/p/b.js", state: "failed", error: "plugin b (/p/b.js) failed in setup: boom", properties: [] },
    ]);
  });

  it("GET /config gives the typed values, all or one", async () => {
    const { app } = api();
    expect(await call(app, "GET", "/config")).toEqual({ status: 200, json: { "a-x": 3, loglevel: "DEBUG", "enable-dump": true } });
    expect(await call(app, "GET", "/config?property=enable-dump")).toEqual({ status: 200, json: { "enable-dump": true } });
    expect(await call(app, "GET", "/config?property=nope")).toEqual({ status: 404, json: { code: "XVM_NOT_FOUND", message: "no property config/nope" } });
  });

  it("validates inputs and answers {code, message} with status 400", async () => {
    const { app, refreshes } = api();
    expect(await call(app, "GET", "/config?colour=red")).toEqual({ status: 400, json: { code: "XVM_BAD_REQUEST", message: "invalid query: colour: not allowed" } });
    expect(await call(app, "GET", "/config?property=9lives")).toEqual({ status: 400, json: { code: "XVM_BAD_REQUEST", message: "invalid query: property: not a property name" } });
    expect(await call(app, "POST", "/refresh", '{"force":true}')).toEqual({ status: 400, json: { code: "XVM_BAD_REQUEST", message: "invalid request body: force: not allowed" } });
    const bad = await call(app, "POST", "/refresh", "{nope");
    expect(bad.status).toBe(400);
    expect((bad.json as { message: string }).message).toMatch(/^request body is not valid JSON: /);
    expect(refreshes.length).toBe(0);
  });

  it("POST /refresh refreshes, with or without an empty JSON body", async () => {
    const { app, refreshes } = api();
    const expected = { status: 200, json: { state: "online", reasons: [], changes: { "a-x": { from: 3, to: 4 } } } };
    expect(await call(app, "POST", "/refresh")).toEqual(expected);
    expect(await call(app, "POST", "/refresh", "{}")).toEqual(expected);
    expect(refreshes.length).toBe(2);
  });

  it("maps errors through the error table; unknown routes are 404", async () => {
    const corrupt = api({ refresh: () => Promise.reject(new XvmError("REPO_CORRUPT", { path: "/r/etc/svc/repository.db", detail: "checksum mismatch", restore: "" })) });
    expect(await call(corrupt.app, "POST", "/refresh")).toEqual({
      status: 500,
      json: { code: "REPO_CORRUPT", message: "repository /r/etc/svc/repository.db is damaged (checksum mismatch)." },
    });
    const crash = api({ refresh: () => Promise.reject(new TypeError("x is undefined")) });
    expect(await call(crash.app, "POST", "/refresh")).toEqual({ status: 500, json: { code: "XVM_INTERNAL", message: "internal error: x is undefined" } });
    expect(crash.lines.some((l) => l.startsWith("ERROR (xend.api) unexpected error: TypeError: x is undefined"))).toBe(true);
    expect(await call(crash.app, "GET", "/nope")).toEqual({ status: 404, json: { code: "XVM_NOT_FOUND", message: "no route GET /nope" } });
    expect(await call(crash.app, "DELETE", "/status")).toEqual({ status: 404, json: { code: "XVM_NOT_FOUND", message: "no route DELETE /status" } });
  });

  it("hands /plugins/<name>/… to a running plugin's sub-app only", async () => {
    const { app } = api();
    expect(await call(app, "GET", "/plugins/web/")).toEqual({ status: 200, json: { hello: "world" } });
    expect(await call(app, "GET", "/plugins/nobody/x")).toEqual({ status: 404, json: { code: "XVM_NOT_FOUND", message: "no plugin named nobody" } });
    expect(await call(app, "GET", "/plugins/b/")).toEqual({ status: 404, json: { code: "XVM_NOT_FOUND", message: "plugin b is failed: boom" } });
  });

  it("serves an OpenAPI 3.1 document built from the route table, domain routes included", async () => {
    const domains = new ApiRouter();
    domains.route(
      {
        method: "post",
        path: "/:dom/pause",
        summary: "Pause a domain",
        params: v.object({ dom: v.string() }),
        body: v.object({ wait: v.optional(v.boolean()) }),
        response: v.object({ ok: v.literal(true) }),
      },
      () => ({ ok: true }),
    );
    const { app } = api({ domains: domains.app });
    const { status: code, json } = await call(app, "GET", "/openapi.json");
    expect(code).toBe(200);
    const doc = json as { openapi: string; info: { title: string; version: string }; paths: Record<string, Record<string, Record<string, unknown>>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toMatchObject({ title: "xend control API", version: "0.1.0" });
    expect(Object.keys(doc.paths)).toEqual(["/status", "/plugins", "/config", "/refresh", "/openapi.json", "/domains/{dom}/pause", "/plugins/{plugin}/{path}"]);
    // Every operation is named (operationId), and a bad request is among its documented answers.
    expect(doc.paths["/domains/{dom}/pause"]!.post!.operationId).toBe("postDomainsDomPause");
    expect(Object.keys(doc.paths["/domains/{dom}/pause"]!.post!.responses as object)).toEqual(["200", "400", "404", "default"]);
    const statusSchema = (doc.paths["/status"]!.get!.responses as Record<string, { content: Record<string, { schema: Record<string, unknown> }> }>)["200"]!.content["application/json"]!.schema;
    expect(statusSchema.required).toEqual(["pid", "root", "state", "reasons", "startedAt", "version", "runtime"]);
    expect((statusSchema.properties as Record<string, unknown>).state).toEqual({ type: "string", enum: ["online", "degraded"] });
    expect((statusSchema.properties as Record<string, unknown>).pid).toEqual({ type: "integer" });
    expect(doc.paths["/config"]!.get!.parameters).toEqual([
      { name: "property", in: "query", required: false, schema: { type: "string", pattern: "^[A-Za-z][A-Za-z0-9._-]{0,254}$", description: "Only this property" }, description: "Only this property" },
    ]);
    expect(doc.paths["/refresh"]!.post!.requestBody).toEqual({ required: false, content: { "application/json": { schema: { type: "object", properties: {}, required: [], additionalProperties: false } } } });
    const pause = doc.paths["/domains/{dom}/pause"]!.post!;
    expect(pause.parameters).toEqual([{ name: "dom", in: "path", required: true, schema: { type: "string" } }]);
    expect(pause.requestBody).toEqual({ required: true, content: { "application/json": { schema: { type: "object", properties: { wait: { type: "boolean" } }, required: [] } } } });
    expect(await call(app, "POST", "/domains/web1/pause", "{}")).toEqual({ status: 200, json: { ok: true } });
  });
});
