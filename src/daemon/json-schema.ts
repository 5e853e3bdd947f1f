/**
 * Valibot schema -> JSON Schema for the OpenAPI document, by `@valibot/to-json-schema` (the
 * valibot project's own converter). Actions without a JSON Schema form (transforms, custom checks)
 * are left out rather than failing the document: the schema stays true if less precise.
 */
import { toJsonSchema as convert } from "@valibot/to-json-schema";
import type * as v from "valibot";

export type JsonSchema = Record<string, unknown>;

export function toJsonSchema(schema: v.GenericSchema): JsonSchema {
  const out = convert(schema, { errorMode: "ignore", target: "draft-2020-12" }) as JsonSchema;
  // The document embeds schemas: their own $schema line would only be noise.
  delete out.$schema;
  return out;
}
