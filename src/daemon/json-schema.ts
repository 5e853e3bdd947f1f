/**
 * Valibot schema -> JSON Schema, for the OpenAPI document. Covers the schema kinds and pipe
 * actions the control API uses (objects, strings, numbers, booleans, literals, picklists, arrays,
 * records, unions, optional/nullable, integer, bounds, lengths, regex, description); anything
 * else becomes `{}` (any value), which is true if vague. `@valibot/to-json-schema` is the full
 * version of this; it is not a dependency.
 */
import type * as v from "valibot";

export type JsonSchema = Record<string, unknown>;

type AnySchema = v.GenericSchema & {
  type: string;
  pipe?: Array<{ kind: string; type: string; requirement?: unknown; description?: string; title?: string }>;
  entries?: Record<string, AnySchema>;
  wrapped?: AnySchema;
  item?: AnySchema;
  options?: AnySchema[] | readonly unknown[];
  literal?: unknown;
  key?: AnySchema;
  value?: AnySchema;
  rest?: AnySchema;
};

const OPTIONAL = new Set(["optional", "exact_optional", "undefinedable", "nullish"]);

export function toJsonSchema(schema: v.GenericSchema): JsonSchema {
  const s = schema as AnySchema;
  const out = base(s);
  for (const action of s.pipe?.slice(1) ?? []) {
    switch (action.type) {
      case "integer": out.type = "integer"; break;
      case "min_value": out.minimum = action.requirement; break;
      case "max_value": out.maximum = action.requirement; break;
      case "min_length": out[out.type === "array" ? "minItems" : "minLength"] = action.requirement; break;
      case "max_length": out[out.type === "array" ? "maxItems" : "maxLength"] = action.requirement; break;
      case "regex": out.pattern = (action.requirement as RegExp).source; break;
      case "description": out.description = action.description; break;
      case "title": out.title = action.title; break;
    }
  }
  return out;
}

function base(s: AnySchema): JsonSchema {
  switch (s.type) {
    case "string": return { type: "string" };
    case "number": return { type: "number" };
    case "boolean": return { type: "boolean" };
    case "null": return { type: "null" };
    case "literal": return { const: s.literal };
    case "picklist": return { enum: [...(s.options as readonly unknown[])] };
    case "array": return { type: "array", items: toJsonSchema(s.item!) };
    case "record": return { type: "object", additionalProperties: toJsonSchema(s.value!) };
    case "union": return { anyOf: (s.options as AnySchema[]).map(toJsonSchema) };
    case "nullable": return { anyOf: [toJsonSchema(s.wrapped!), { type: "null" }] };
    case "nullish": return { anyOf: [toJsonSchema(s.wrapped!), { type: "null" }] };
    case "optional":
    case "exact_optional":
    case "undefinedable":
      return toJsonSchema(s.wrapped!);
    case "object":
    case "strict_object":
    case "loose_object":
    case "object_with_rest": {
      const properties: Record<string, JsonSchema> = {};
      const required: string[] = [];
      for (const [k, e] of Object.entries(s.entries ?? {})) {
        properties[k] = toJsonSchema(e);
        if (!OPTIONAL.has(e.type)) required.push(k);
      }
      const out: JsonSchema = { type: "object", properties };
      if (required.length) out.required = required;
      if (s.type === "strict_object") out.additionalProperties = false;
      if (s.type === "object_with_rest" && s.rest) out.additionalProperties = toJsonSchema(s.rest);
      return out;
    }
    default:
      return {};
  }
}
