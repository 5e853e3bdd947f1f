/**
 * The control API's OpenAPI document (issue 17.9): every route, the plugins' included, an
 * operationId each, 4xx answers from the error table, NDJSON streams as application/x-ndjson,
 * and a clean run of a real OpenAPI linter (Redocly's, with its recommended rules).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlApi } from "../../src/daemon/control-api.ts";
import { domainRoutes } from "../../src/daemon/domain-routes.ts";
import { createDomainManager, type DomainManagerHandle } from "../../src/domain/manager.ts";
import { Paths } from "../../src/paths.ts";
import { dumpRoutes } from "../../plugins/enable-dump/routes.ts";
import { relocationRoutes } from "../../plugins/relocation/routes.ts";
import { captureLogger } from "../helpers/plugin-host.ts";
import { FakeDriver } from "../helpers/domain-fake-driver.ts";

type Operation = { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> };
let dir: string;
let manager: DomainManagerHandle;
let doc: { openapi: string; paths: Record<string, Record<string, Operation>> };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "xvm-openapi-"));
  const lines: string[] = [];
  manager = createDomainManager({ driver: new FakeDriver(), paths: new Paths(dir), log: captureLogger(lines)("xend.domains"), fire: async () => {} });
  const relocation = new Hono();
  relocationRoutes(relocation, {} as never);
  const dump = new Hono();
  dumpRoutes(dump, {} as never);
  const plugins = { relocation, "enable-dump": dump } as Record<string, Hono>;
  const app = createControlApi({
    status: () => ({ pid: 1, root: dir, state: "online", reasons: [], startedAt: "2026-01-01T00:00:00.000Z", version: "0.1.0", runtime: "node" }),
    plugins: () => Object.keys(plugins).map((name) => ({ name, version: "0.1.0", source: "builtin", state: "running" as const, properties: [] })),
    config: () => ({}),
    refresh: async () => ({ state: "online", reasons: [], changes: {} }),
    pluginRoutes: (name) => (plugins[name] ? { routes: plugins[name]!, state: "running" } : undefined),
    domains: domainRoutes(manager),
    version: "0.1.0",
    log: captureLogger(lines)("xend.api"),
  });
  doc = (await (await app.request("/openapi.json")).json()) as typeof doc;
});

afterAll(async () => {
  await manager?.close();
  rmSync(dir, { recursive: true, force: true });
});

const operations = (): Array<[string, string, Operation]> =>
  Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => [path, m, op] as [string, string, Operation]));

describe("the OpenAPI document", () => {
  it("covers the daemon's, the domains' and the plugins' routes", () => {
    const paths = Object.keys(doc.paths);
    for (const p of ["/status", "/plugins", "/config", "/refresh", "/openapi.json", "/domains", "/domains/{dom}", "/plugins/relocation/migrate", "/plugins/relocation/migrations/{id}", "/plugins/enable-dump/dump"]) {
      expect(paths).toContain(p);
    }
  });

  it("names every operation once, and lists its 4xx answers from the error table", () => {
    const ids = operations().map(([, , op]) => op.operationId);
    expect(ids.every((id) => /^[A-Za-z][A-Za-z0-9]*$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [path, method, op] of operations()) {
      expect(Object.keys(op.responses).some((s) => /^4\d\d$/.test(s)), `${method} ${path} has a 4xx answer`).toBe(true);
    }
    const migrate = doc.paths["/plugins/relocation/migrate"]!.post!;
    expect(migrate.operationId).toBe("relocationMigrate");
    expect(Object.keys(migrate.responses)).toEqual(["200", "400", "403", "404", "409", "default"]);
    expect(JSON.stringify(migrate.responses["404"])).toContain("DOMAIN_NOT_FOUND");
  });

  it("gives progress streams as application/x-ndjson", () => {
    expect(Object.keys(doc.paths["/plugins/relocation/migrate"]!.post!.responses["200"]!.content!)).toEqual(["application/json", "application/x-ndjson"]);
    expect(Object.keys(doc.paths["/plugins/enable-dump/dump"]!.post!.responses["200"]!.content!)).toEqual(["application/json", "application/x-ndjson"]);
  });

  it("passes Redocly's linter with the recommended rules and no error", async () => {
    const config = await createConfig({ extends: ["recommended"] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "openapi.json", config });
    const errors = problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ""}`);
    expect(errors).toEqual([]);
  });
});
