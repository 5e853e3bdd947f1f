/**
 * What an HTTP route says about itself for `/openapi.json`: its inputs and output as valibot
 * schemas, the error codes it may answer, and whether it can stream NDJSON. The daemon's own
 * routes declare this through ApiRouter (src/daemon/api-router.ts); a plugin documents the routes
 * of its Hono app with {@link documentRoutes}, and the document then covers them too.
 */
import type { Hono } from "hono";
import type * as v from "valibot";
import type { ErrorCode } from "../errors.ts";

export type Method = "get" | "post" | "put" | "delete" | "patch";
type Schema = v.GenericSchema;

export interface RouteSpec<Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined, P extends Schema | undefined = undefined> {
  method: Method;
  /** Hono path syntax (`/domains/:dom`), relative to where the app is mounted. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Unique name of the operation; derived from the method and path when not given. */
  operationId?: string;
  params?: P;
  query?: Q;
  /** JSON body. An empty body is parsed as `undefined` (make the schema optional to allow it). */
  body?: B;
  response: Schema;
  /** Success status (default 200). */
  status?: 200 | 201 | 202 | 204;
  /** With `progress: true` in the body the answer is an `application/x-ndjson` stream of these lines. */
  stream?: Schema;
  /** Error codes (from the xvm error table or the plugin's own) this route may answer, besides bad requests. */
  errors?: readonly (ErrorCode | string)[];
}

export interface RouteDoc {
  method: Method;
  path: string;
  spec: RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;
}

const docsByApp = new WeakMap<Hono, RouteDoc[]>();

/** The documented routes of an app (empty for one nobody documented). */
export function docsOf(app: Hono): RouteDoc[] {
  return docsByApp.get(app) ?? [];
}

/** Documents routes of an app: a plugin calls it on the Hono app its `routes` hook fills. */
export function documentRoutes(app: Hono, specs: ReadonlyArray<RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>>): void {
  docsByApp.set(app, [...docsOf(app), ...specs.map((spec) => ({ method: spec.method, path: spec.path, spec }))]);
}

/** Registers the list an ApiRouter keeps filling. */
export function trackDocs(app: Hono, docs: RouteDoc[]): void {
  docsByApp.set(app, docs);
}
