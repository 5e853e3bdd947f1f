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
import { toJsonSchema, type JsonSchema } from "./json-schema.ts";

export type Method = "get" | "post" | "put" | "delete" | "patch";

type Schema = v.GenericSchema;
type Out<S> = S extends v.GenericSchema ? v.InferOutput<S> : undefined;

export interface RouteSpec<Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined, P extends Schema | undefined = undefined> {
  method: Method;
  /** Hono path syntax (`/domains/:dom`), relative to where the router is mounted. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  params?: P;
  query?: Q;
  /** JSON body. An empty body is parsed as `undefined` (make the schema optional to allow it). */
  body?: B;
  response: Schema;
  /** Success status (default 200). */
  status?: 200 | 201 | 202 | 204;
}

export interface RouteDoc {
  method: Method;
  path: string;
  spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;
}

export interface RouteInput<Q, B, P> {
  query: Q;
  body: B;
  params: P;
  c: Context;
}

const docsByApp = new WeakMap<Hono, RouteDoc[]>();

/** The documented routes of an app built with {@link ApiRouter} (empty for a plain Hono). */
export function docsOf(app: Hono): RouteDoc[] {
  return docsByApp.get(app) ?? [];
}

/** Documents routes of an app not built with ApiRouter. */
export function attachDocs(app: Hono, docs: RouteDoc[]): void {
  docsByApp.set(app, [...docsOf(app), ...docs]);
}

export class ApiRouter {
  readonly app: Hono;
  readonly docs: RouteDoc[] = [];

  constructor(app: Hono = new Hono()) {
    this.app = app;
    docsByApp.set(app, this.docs);
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

/** Builds the OpenAPI 3.1 document of the given routes (`prefix` + path). */
export function openApiDocument(info: { title: string; version: string; description?: string }, groups: Array<{ prefix: string; docs: RouteDoc[] }>): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
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
      const op: Record<string, unknown> = {
        summary: s.summary,
        ...(s.description ? { description: s.description } : {}),
        ...(s.tags ? { tags: s.tags } : {}),
        ...(parameters.length ? { parameters } : {}),
        ...(s.body ? { requestBody: { required: !isOptional(s.body), content: { "application/json": { schema: toJsonSchema(s.body) } } } } : {}),
        responses: {
          [String(s.status ?? 200)]: s.status === 204
            ? { description: "Done" }
            : { description: "Success", content: { "application/json": { schema: toJsonSchema(s.response) } } },
          default: { description: "Error (status from the xvm error table)", content: { "application/json": { schema: toJsonSchema(ErrorBody) } } },
        },
      };
      (paths[key] ??= {})[doc.method] = op;
    }
  }
  return { openapi: "3.1.0", info, paths };
}

function isOptional(schema: Schema): boolean {
  const t = (schema as { type: string }).type;
  return t === "optional" || t === "nullish" || t === "undefinedable" || t === "exact_optional";
}
