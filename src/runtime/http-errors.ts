/**
 * The one way the control API (and every plugin sub-app on it) answers an error: JSON
 * `{code, message}` with the HTTP status of the code in the error table.
 */
import { HTTPException } from "hono/http-exception";
import { XvmError, errorDefinition } from "../errors.ts";
import type { Logger } from "../logger.ts";

export function errorResponse(error: unknown, log: Logger): Response {
  if (error instanceof XvmError) return json(error.status, error.code, error.message);
  const coded = error as { code?: unknown; message?: unknown };
  if (typeof coded?.code === "string" && errorDefinition(coded.code) && typeof coded.message === "string") {
    return json(errorDefinition(coded.code)?.status ?? 500, coded.code, coded.message);
  }
  if (error instanceof HTTPException) {
    return json(error.status, error.status === 404 ? "XVM_NOT_FOUND" : error.status >= 500 ? "XVM_INTERNAL" : "XVM_BAD_REQUEST", error.message || `HTTP ${error.status}`);
  }
  log.error(`unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  return json(500, "XVM_INTERNAL", new XvmError("XVM_INTERNAL", { detail: error instanceof Error ? error.message : String(error) }).message);
}

export function notFoundResponse(method: string, path: string): Response {
  return json(404, "XVM_NOT_FOUND", `no route ${method} ${path}`);
}

function json(status: number, code: string, message: string): Response {
  return new Response(JSON.stringify({ code, message }), { status, headers: { "content-type": "application/json; charset=UTF-8" } });
}
