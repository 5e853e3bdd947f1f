/**
 * Control API of the relocation plugin, under `/plugins/relocation/`:
 *
 *   POST /migrate          {domain, host, port?, live?, maxDowntimeMs?, resource?, progress?}
 *       Without `progress`: one JSON object once done — `{domain, domid, destination, remoteDomid,
 *       live, stats}` — or `{code, message}` with the error's status. With `progress: true`: NDJSON
 *       while it runs, `{"progress": {…}}` lines (QEMU's query-migrate figures plus round, percent,
 *       remaining pages, phase) then one `{"result": …}` or `{"error": {code, message}}` line.
 *       A client that goes away does not stop the migration (xend's did not either).
 *   GET  /status           {enabled, listening: "127.0.0.1:8002" | null, error?}: the relocation server
 *   GET  /migrations       {migrations: [...]}: the ones running and the last finished, both ways
 *   GET  /migrations/:id   one of them
 *   GET  /digest/:dom      {pages, sha256, sha256Rest}: SHA-256 of the domain's memory (vCPUs parked
 *                          while it is read), to compare a guest before and after a migration
 */
import type { Hono } from "hono";
import * as v from "valibot";
import { documentRoutes, errorMessage, jsonBody, progressStream, XvmError, type DomainManager, type HypervisorDriver, type MigrationProgress } from "xvm/plugin";
import type { MigrationRecords } from "./records.ts";
import type { MigrateRequest, MigrateResult } from "./send.ts";

export const MigrateBody = v.strictObject({
  domain: v.union([v.pipe(v.string(), v.minLength(1)), v.pipe(v.number(), v.integer(), v.minValue(0))]),
  host: v.pipe(v.string(), v.minLength(1)),
  port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 0),
  live: v.optional(v.boolean(), false),
  maxDowntimeMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(2_000_000))),
  resource: v.optional(v.pipe(v.number(), v.minValue(0))),
  progress: v.optional(v.boolean(), false),
});

export interface RouteDeps {
  domains: DomainManager;
  hypervisor: HypervisorDriver;
  records: MigrationRecords;
  migrate(request: MigrateRequest, onProgress?: (p: MigrationProgress) => void): Promise<MigrateResult>;
  listener(): { enabled: boolean; listening: string | null; error?: string };
}

function asXvmError(error: unknown): XvmError {
  return error instanceof XvmError ? error : new XvmError("XVM_INTERNAL", { detail: errorMessage(error) });
}

/** Loose shapes of the answers, for /openapi.json (the figures are the driver's). */
const Progress = v.object({ progress: v.record(v.string(), v.unknown()) });
const Any = v.record(v.string(), v.unknown());

export function relocationRoutes(app: Hono, deps: RouteDeps): void {
  documentRoutes(app, [
    {
      method: "post", path: "/migrate", operationId: "relocationMigrate", tags: ["relocation"],
      summary: "Migrate a domain to another host (xm migrate)", body: MigrateBody, response: Any,
      stream: v.union([Progress, v.object({ result: Any }), v.object({ error: v.object({ code: v.string(), message: v.string() }) })]),
      errors: ["DOMAIN_NOT_FOUND", "DOMAIN_BAD_STATE", "MIGRATE_REFUSED"],
    },
    { method: "get", path: "/status", operationId: "relocationStatus", tags: ["relocation"], summary: "The relocation server: enabled, listening address, error", response: Any },
    { method: "get", path: "/migrations", operationId: "relocationMigrations", tags: ["relocation"], summary: "Migrations running and the last finished, both ways", response: v.object({ migrations: v.array(Any) }) },
    { method: "get", path: "/migrations/:id", operationId: "relocationMigration", tags: ["relocation"], summary: "One migration", response: Any, errors: ["XVM_NOT_FOUND"] },
    { method: "get", path: "/digest/:dom", operationId: "relocationDigest", tags: ["relocation"], summary: "SHA-256 of a domain's memory (vCPUs parked while it is read)", response: Any, errors: ["DOMAIN_NOT_FOUND", "DOMAIN_BAD_STATE"] },
  ]);
  app.post("/migrate", async (c) => {
    try {
      const body = await jsonBody(c, MigrateBody);
      const request: MigrateRequest = { domain: body.domain, host: body.host, port: body.port, live: body.live };
      if (body.maxDowntimeMs !== undefined) request.maxDowntimeMs = body.maxDowntimeMs;
      if (body.resource !== undefined) request.resource = body.resource;
      if (!body.progress) return c.json(await deps.migrate(request));
      return progressStream<MigrationProgress, MigrateResult>((report) => deps.migrate(request, report), {
        toError: asXvmError,
        urgent: (p, previous) => p.round !== previous.round,
      });
    } catch (error) {
      const e = asXvmError(error);
      return c.json(e.toJSON(), e.status as 500);
    }
  });

  app.get("/status", (c) => c.json(deps.listener()));

  app.get("/migrations", (c) => c.json({ migrations: deps.records.list() }));

  app.get("/migrations/:id", (c) => {
    const rec = deps.records.get(Number(c.req.param("id")));
    if (!rec) {
      const e = new XvmError("XVM_NOT_FOUND", { detail: `no migration ${c.req.param("id")}` });
      return c.json(e.toJSON(), 404);
    }
    return c.json(rec);
  });

  app.get("/digest/:dom", async (c) => {
    try {
      const d = await deps.domains.get(c.req.param("dom"));
      if (d.domid === null || d.domid === 0) throw new XvmError("DOMAIN_BAD_STATE", { dom: d.name, state: d.domid === 0 ? "Domain-0" : "not running", action: "read the memory of" });
      if (!deps.hypervisor.memoryDigest) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `memory digests on the ${deps.hypervisor.name} hypervisor` });
      return c.json(await deps.hypervisor.memoryDigest(d.domid));
    } catch (error) {
      const e = asXvmError(error);
      return c.json(e.toJSON(), e.status as 500);
    }
  });
}
