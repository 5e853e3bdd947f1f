/**
 * A route table over Hono: each route states its inputs and output as valibot schemas, so one
 * declaration both validates requests and documents them in `/openapi.json`. Sub-apps built
 * elsewhere (the domain routes) use the same router and are documented when mounted.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import * as v from "valibot";
import { XvmError } from "../errors.ts";
import { issueText } from "../plugin/schema.ts";
import { ERRORS } from "../errors.ts";
import { docsOf, documentRoutes, trackDocs, type Method, type RouteDoc, type RouteSpec } from "../plugin/route-docs.ts";
import { toJsonSchema, type JsonSchema } from "./json-schema.ts";

export { docsOf, type Method, type RouteDoc, type RouteSpec };

type Schema = v.GenericSchema;
type Out<S> = S extends v.GenericSchema ? v.InferOutput<S> : undefined;

export interface RouteInput<Q, B, P> {
  query: Q;
  body: B;
  params: P;
  c: Context;
}

/** Documents routes of an app not built with ApiRouter. */
export function attachDocs(app: Hono, docs: RouteDoc[]): void {
  documentRoutes(app, docs.map((d) => d.spec));
}

export class ApiRouter {
  readonly app: Hono;
  readonly docs: RouteDoc[] = [];

  constructor(app: Hono = new Hono()) {
    this.app = app;
    trackDocs(app, this.docs);
  }

  route<Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined, P extends Schema | undefined = undefined>(
    spec: RouteSpec<Q, B, P>,
    handler: (input: RouteInput<Out<Q>, Out<B>, Out<P>>) => unknown | Promise<unknown>,
  ): this {
    this.docs.push({ method: spec.method, path: spec.path, spec: spec as RouteDoc["spec"] });
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      const params = spec.params ? parse(spec.params, c.req.param(), "path parameter") : undefined;
      const query = spec.query ? parse(spec.query, c.req.query(), "query") : undefined;
      const body = spec.body ? parse(spec.body, await jsonBody(c), "request body") : undefined;
      const result = await handler({ query, body, params, c } as RouteInput<Out<Q>, Out<B>, Out<P>>);
      if (result instanceof Response) return result;
      if (spec.status === 204) return c.body(null, 204);
      return c.json(result as object, spec.status ?? 200);
    });
    return this;
  }
}

function parse<S extends Schema>(schema: S, value: unknown, where: string): v.InferOutput<S> {
  const r = v.safeParse(schema, value);
  if (!r.success) throw new XvmError("XVM_BAD_REQUEST", { detail: `invalid ${where}: ${issueText(r.issues)}` });
  return r.output;
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new XvmError("XVM_BAD_REQUEST", { detail: `request body is not valid JSON: ${(error as Error).message}` });
  }
}

export const ErrorBody = v.object({
  code: v.pipe(v.string(), v.description("Stable error code from the xvm error table")),
  message: v.string(),
});

/** `post /domains/{dom}/pause` -> `postDomainsDomPause`: a stable, unique name when a route gives none. */
function operationIdOf(method: string, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

/**
 * The 4xx answers a route may give, from the error table: bad requests always (every route
 * validates its input), plus the statuses of the codes it names; each lists its codes.
 */
function clientErrors(spec: RouteDoc["spec"], path: string): Record<string, unknown> {
  const byStatus = new Map<number, Set<string>>([[400, new Set(["XVM_BAD_REQUEST"])]]);
  // A route that names a domain may not find it.
  const implied = /\{dom\}/.test(path) ? ["DOMAIN_NOT_FOUND"] : [];
  for (const code of [...implied, ...(spec.errors ?? [])]) {
    const status = (ERRORS as Record<string, { status: number }>)[code]?.status ?? 400;
    if (status >= 400 && status < 500) (byStatus.get(status) ?? byStatus.set(status, new Set()).get(status)!).add(code);
  }
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: `Refused: ${[...codes].sort().join(", ")}`,
      content: { "application/json": { schema: { ...toJsonSchema(ErrorBody), properties: { ...(toJsonSchema(ErrorBody).properties as object), code: { type: "string", enum: [...codes].sort() } } } } },
    };
  }
  return out;
}

/** Builds the OpenAPI 3.1 document of the given routes (`prefix` + path). */
export function openApiDocument(info: { title: string; version: string; description?: string }, groups: Array<{ prefix: string; docs: RouteDoc[] }>): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const { prefix, docs } of groups) {
    for (const doc of docs) {
      const full = `${prefix}${doc.path}`.replace(/\/+$/, "") || "/";
      const key = full.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
      const s = doc.spec;
      const parameters: unknown[] = [];
      for (const [where, schema] of [["path", s.params], ["query", s.query]] as const) {
        if (!schema) continue;
        const js = toJsonSchema(schema);
        const props = (js.properties ?? {}) as Record<string, JsonSchema>;
        const required = new Set((js.required as string[] | undefined) ?? []);
        for (const [name, p] of Object.entries(props)) {
          parameters.push({ name, in: where, required: where === "path" || required.has(name), schema: p, ...(p.description ? { description: p.description } : {}) });
        }
      }
      // Path parameters the route does not describe with a schema are strings.
      for (const m of key.matchAll(/\{([A-Za-z0-9_]+)\}/g)) {
        if (!parameters.some((p) => (p as { name: string; in: string }).name === m[1] && (p as { in: string }).in === "path")) {
          parameters.push({ name: m[1], in: "path", required: true, schema: { type: "string" } });
        }
      }
      for (const t of s.tags ?? []) tags.add(t);
      const success = s.status === 204
        ? { description: "Done" }
        : {
            description: s.stream ? "Success: one JSON object, or with `progress: true` an NDJSON stream of progress lines ending in a result or error line" : "Success",
            content: {
              "application/json": { schema: toJsonSchema(s.response) },
              ...(s.stream ? { "application/x-ndjson": { schema: toJsonSchema(s.stream) } } : {}),
            },
          };
      const op: Record<string, unknown> = {
        operationId: s.operationId ?? operationIdOf(doc.method, key),
        summary: s.summary,
        ...(s.description ? { description: s.description } : {}),
        ...(s.tags ? { tags: s.tags } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(s.body ? { requestBody: { required: !isOptional(s.body), content: { "application/json": { schema: toJsonSchema(s.body) } } } } : {}),
        responses: {
          [String(s.status ?? 200)]: success,
          ...clientErrors(s, key),
          default: { description: "Error (status from the xvm error table)", content: { "application/json": { schema: toJsonSchema(ErrorBody) } } },
        },
      };
      (paths[key] ??= {})[doc.method] = op;
    }
  }
  return {
    openapi: "3.1.0",
    info: { ...info, license: { name: "MIT", identifier: "MIT" } },
    servers: [{ url: "http://localhost", description: "The daemon's control socket (var/run/xend/control.sock); HTTP over a Unix socket" }],
    // No HTTP authentication: who may connect is the socket's file mode (0600, root) — docs/security.md.
    security: [],
    tags: [...tags].sort().map((name) => ({ name })),
    paths,
  };
}

function isOptional(schema: Schema): boolean {
  const t = (schema as { type: string }).type;
  return t === "optional" || t === "nullish" || t === "undefinedable" || t === "exact_optional";
}
