/**
 * The daemon's control API (HTTP+JSON on `var/run/xend/control.sock`): status, plugins, effective
 * config, refresh, the OpenAPI document, the domain routes at `/domains`, each plugin's
 * sub-app at `/plugins/<name>/`, `GET /metrics` (Prometheus text) and `GET /events` (NDJSON). The restarter polls `GET /status` to tell online from degraded;
 * xm and the SMF commands are clients of this API only.
 */
import { bodyLimit } from "hono/body-limit";
import { Hono } from "hono";
import * as v from "valibot";
import { XvmError } from "../errors.ts";
import type { ConfigValue } from "../config-value.ts";
import type { DaemonStatus } from "../daemon-status.ts";
import type { Logger } from "../logger.ts";
import type { PluginState, PluginStatus } from "../plugin/host.ts";
import { PROPERTY_NAME } from "../plugin/schema.ts";
import { ApiRouter, docsOf, openApiDocument } from "./api-router.ts";
import { errorResponse, notFoundResponse } from "../runtime/http-errors.ts";
import { eventStream, type EventBus } from "./events.ts";
import { METRICS_CONTENT_TYPE } from "./metrics.ts";

const ConfigValueSchema = v.union([v.boolean(), v.number(), v.string()]);

export const StatusSchema = v.object({
  pid: v.pipe(v.number(), v.integer()),
  root: v.pipe(v.string(), v.description("The state root every path is under")),
  state: v.picklist(["online", "degraded"]),
  reasons: v.pipe(v.array(v.string()), v.description("Why the daemon is degraded (empty when online)")),
  startedAt: v.pipe(v.string(), v.description("ISO 8601 time the daemon started")),
  version: v.string(),
  runtime: v.pipe(v.string(), v.description("JavaScript runtime and its version, e.g. `bun 1.4.5`")),
});
export type { DaemonStatus };
// The schema and the one DaemonStatus (src/daemon-status.ts) must describe the same object.
const _statusMatches: [v.InferOutput<typeof StatusSchema>, DaemonStatus] extends [DaemonStatus, v.InferOutput<typeof StatusSchema>] ? true : never = true;
void _statusMatches;

const PluginSchema = v.object({
  name: v.string(),
  version: v.string(),
  source: v.pipe(v.string(), v.description("`builtin`, or the file the plugin was loaded from")),
  state: v.picklist(["running", "failed", "stopped"] satisfies PluginState[]),
  error: v.optional(v.string()),
  properties: v.pipe(v.array(v.string()), v.description("config properties the plugin declares")),
});

const ChangeSchema = v.object({ from: v.nullable(ConfigValueSchema), to: v.nullable(ConfigValueSchema) });

export const RefreshSchema = v.object({
  state: v.picklist(["online", "degraded"]),
  reasons: v.array(v.string()),
  changes: v.pipe(v.record(v.string(), ChangeSchema), v.description("Properties whose value in force changed")),
});
export type RefreshResult = v.InferOutput<typeof RefreshSchema>;

export interface ControlApiOptions {
  /** May wait for a refresh in progress, so a poll right after SIGHUP sees its outcome. */
  status(): DaemonStatus | Promise<DaemonStatus>;
  plugins(): PluginStatus[];
  config(): Readonly<Record<string, ConfigValue>>;
  refresh(): Promise<RefreshResult>;
  pluginRoutes(name: string): { routes: Hono; state: PluginState; error?: string } | undefined;
  /** Mounted at `/domains`. */
  domains?: Hono;
  /** `GET /metrics`: the Prometheus text (src/daemon/metrics.ts). */
  metrics?: () => Promise<string>;
  /** `GET /events`: the NDJSON event stream (src/daemon/events.ts). */
  events?: EventBus;
  /** Keep-alive interval of the event stream, ms (default 5000). */
  eventPingMs?: number;
  version: string;
  log: Logger;
}

/** A control API request body may weigh at most this (a domain config is a few KiB). */
export const MAX_BODY_BYTES = 1 << 20;

export function createControlApi(o: ControlApiOptions): Hono {
  const app = new Hono();
  app.onError((error) => errorResponse(error, o.log));
  app.notFound((c) => notFoundResponse(c.req.method, c.req.path));
  // Bounded before anything reads it (issue 13 §4): core routes and plugin routes alike.
  app.use("*", bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => {
      const e = new XvmError("BODY_TOO_LARGE", { max: MAX_BODY_BYTES });
      return c.json(e.toJSON(), 413);
    },
  }));

  const api = new ApiRouter(new Hono());
  api.route(
    { method: "get", path: "/status", summary: "Daemon status", tags: ["daemon"], response: StatusSchema },
    () => o.status(),
  );
  api.route(
    { method: "get", path: "/plugins", summary: "Loaded plugins with their state", tags: ["daemon"], response: v.array(PluginSchema) },
    () => o.plugins(),
  );
  api.route(
    {
      method: "get",
      path: "/config",
      summary: "The effective typed configuration (config/* values in force)",
      tags: ["daemon"],
      query: v.strictObject({
        property: v.optional(v.pipe(v.string(), v.regex(PROPERTY_NAME, "not a property name"), v.description("Only this property"))),
      }),
      response: v.record(v.string(), ConfigValueSchema),
    },
    ({ query }) => {
      const config = o.config();
      if (query.property === undefined) return config;
      if (!Object.hasOwn(config, query.property)) throw new XvmError("XVM_NOT_FOUND", { detail: `no property config/${query.property}` });
      return { [query.property]: config[query.property]! };
    },
  );
  api.route(
    {
      method: "post",
      path: "/refresh",
      summary: "Re-read the running snapshot and apply what changed (as SIGHUP)",
      tags: ["daemon"],
      body: v.optional(v.strictObject({})),
      response: RefreshSchema,
    },
    () => o.refresh(),
  );
  api.route(
    { method: "get", path: "/openapi.json", summary: "This document", tags: ["daemon"], response: v.record(v.string(), v.unknown()) },
    () => openApiDocument(
      { title: "xend control API", version: o.version, description: "HTTP+JSON on the daemon's Unix socket. Errors are {code, message}." },
      [
        { prefix: "", docs: api.docs },
        ...(o.domains ? [{ prefix: "/domains", docs: docsOf(o.domains) }] : []),
        // Each running plugin's documented routes (documentRoutes in xvm/plugin), then the catch-all.
        ...o.plugins().flatMap((p) => {
          const target = o.pluginRoutes(p.name);
          return target?.state === "running" ? [{ prefix: `/plugins/${p.name}`, docs: docsOf(target.routes) }] : [];
        }),
        { prefix: "", docs: [pluginRouteDoc] },
      ],
    ),
  );
  app.route("/", api.app);
  if (o.domains) app.route("/domains", o.domains);
  const metrics = o.metrics;
  if (metrics) app.get("/metrics", async (c) => c.body(await metrics(), 200, { "content-type": METRICS_CONTENT_TYPE }));
  const bus = o.events;
  if (bus) app.get("/events", (c) => eventStream(bus, o.eventPingMs ?? 5000, c.req.raw.signal));

  const toPlugin = async (c: { req: { param(name: string): string; raw: Request } }): Promise<Response> => {
    const name = c.req.param("name");
    const target = o.pluginRoutes(name);
    if (!target) throw new XvmError("XVM_NOT_FOUND", { detail: `no plugin named ${name}` });
    if (target.state !== "running") throw new XvmError("XVM_NOT_FOUND", { detail: `plugin ${name} is ${target.state}${target.error ? `: ${target.error}` : ""}` });
    return target.routes.fetch(c.req.raw);
  };
  app.all("/plugins/:name", toPlugin);
  app.all("/plugins/:name/*", toPlugin);
  return app;
}

const pluginRouteDoc = {
  method: "get" as const,
  path: "/plugins/:plugin/:path{.*}",
  spec: {
    method: "get" as const,
    path: "/plugins/:plugin/:path{.*}",
    summary: "A plugin's own routes (any method); see the plugin's documentation",
    tags: ["plugins"],
    params: v.object({ plugin: v.string(), path: v.string() }),
    response: v.unknown(),
  },
};
