/**
 * A plugin route's JSON body checked against a valibot schema. What is wrong is said as
 * `XVM_BAD_REQUEST` naming the field (`file: Invalid type: …`), or `the body must be a JSON object`
 * when the body does not parse. (The core's routes use the daemon's ApiRouter instead, which also
 * documents them in /openapi.json.)
 */
import type { Context } from "hono";
import * as v from "valibot";
import { XvmError } from "../errors.ts";

export async function jsonBody<S extends v.GenericSchema>(c: Context, schema: S): Promise<v.InferOutput<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new XvmError("XVM_BAD_REQUEST", { detail: "the body must be a JSON object" });
  }
  const parsed = v.safeParse(schema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = issue.path?.map((p) => String(p.key)).join(".") ?? "body";
    throw new XvmError("XVM_BAD_REQUEST", { detail: `${where}: ${issue.message}` });
  }
  return parsed.output;
}
