/**
 * Valibot schemas built from what plugins declare: one per property (type, bounds, allowed values,
 * the plugin's own check), and one for a plugin definition itself, so a malformed external plugin
 * is refused with a message that names the field.
 */
import * as v from "valibot";
import type { ConfigValue, PropertyDecl, PropertyDecls, PropertyType } from "./contract.ts";

export const PROPERTY_TYPES = ["boolean", "integer", "count", "astring"] as const satisfies readonly PropertyType[];

/** Plugin names appear in URLs (`/plugins/<name>/`) and log lines: keep them plain. */
export const PLUGIN_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** SMF property names: a letter, then letters, digits, `-`, `_`, `.`. */
export const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,254}$/;

export type ValueSchema = v.GenericSchema<unknown, ConfigValue>;

/** The schema a running value of `decl` must satisfy. */
export function propertySchema(decl: PropertyDecl): ValueSchema {
  const base = baseSchema(decl);
  const check = decl.check;
  if (!check) return base;
  return v.pipe(
    base,
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      let problem: string | undefined;
      try {
        problem = (check as (value: ConfigValue) => string | undefined)(dataset.value);
      } catch (error) {
        problem = `check failed: ${(error as Error).message}`;
      }
      if (problem) addIssue({ message: problem });
    }),
  ) as ValueSchema;
}

function baseSchema(decl: PropertyDecl): ValueSchema {
  switch (decl.type) {
    case "boolean":
      return v.boolean();
    case "astring":
      return decl.values ? v.picklist(decl.values as string[], `Expected one of ${decl.values.join(", ")}`) : v.string();
    case "integer":
    case "count": {
      const actions: Array<v.PipeItem<number, number, v.BaseIssue<unknown>>> = [v.integer("Expected an integer")];
      const min = decl.type === "count" ? Math.max(decl.min ?? 0, 0) : decl.min;
      if (min !== undefined) actions.push(v.minValue(min, `Expected at least ${min}`));
      if (decl.max !== undefined) actions.push(v.maxValue(decl.max, `Expected at most ${decl.max}`));
      return v.pipe(v.number("Expected a number"), ...actions) as ValueSchema;
    }
  }
}

/** First issue of a failed parse, as one line. */
export function issueText(issues: readonly v.BaseIssue<unknown>[]): string {
  return issues
    .map((i) => {
      const path = v.getDotPath(i);
      // Valibot words a missing or unexpected key as a type mismatch; say it plainly.
      const objectKey = i.kind === "schema" && /object$/.test(i.type);
      const message = objectKey && i.input === undefined ? "required" : objectKey && i.expected === "never" ? "not allowed" : i.message;
      return path ? `${path}: ${message}` : message;
    })
    .join("; ");
}

/** Validates one value; returns the problem or undefined. */
export function checkValue(decl: PropertyDecl, value: unknown): string | undefined {
  const r = v.safeParse(propertySchema(decl), value);
  return r.success ? undefined : issueText(r.issues);
}

const declSchema = v.pipe(
  v.object({
    type: v.picklist(PROPERTY_TYPES, `type must be one of ${PROPERTY_TYPES.join(", ")}`),
    default: v.union([v.boolean(), v.number(), v.string()], "default must be a boolean, number or string"),
    description: v.string("description must be a string"),
    min: v.optional(v.number("min must be a number")),
    max: v.optional(v.number("max must be a number")),
    values: v.optional(v.array(v.string(), "values must be an array of strings")),
    check: v.optional(v.function("check must be a function")),
    validate: v.optional(v.function("validate must be a function")),
    show: v.optional(v.function("show must be a function")),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const decl = dataset.value as PropertyDecl;
    if (decl.values && decl.type !== "astring") addIssue({ message: "values is only for astring properties" });
    if ((decl.min !== undefined || decl.max !== undefined) && decl.type !== "integer" && decl.type !== "count") {
      addIssue({ message: "min/max are only for integer and count properties" });
    }
    const problem = checkValue(decl, decl.default);
    if (problem) addIssue({ message: `default ${JSON.stringify(decl.default)} is invalid: ${problem}` });
  }),
);

const definitionSchema = v.object({
  name: v.pipe(v.string("name must be a string"), v.regex(PLUGIN_NAME, "name must be lower case letters, digits, '.', '_' or '-' (at most 64)")),
  version: v.optional(v.string("version must be a string")),
  description: v.optional(v.string("description must be a string")),
  properties: v.optional(
    v.pipe(
      v.record(v.pipe(v.string(), v.regex(PROPERTY_NAME, "property names start with a letter and hold letters, digits, '.', '_' or '-'")), declSchema),
    ),
  ),
  commands: v.optional(v.array(v.object({
    name: v.pipe(v.string("command name must be a string"), v.regex(/^[a-z][a-z0-9-]{0,63}$/, "command names are lower case letters, digits and '-'")),
    description: v.string("command description must be a string"),
    load: v.function("command load must be a function"),
  }), "commands must be an array")),
  setup: v.function("setup must be a function"),
});

/** Checks a definition's shape; returns the problem or undefined. */
export function checkDefinition(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return `the default export is ${value === null ? "null" : typeof value}, not a plugin definition`;
  const r = v.safeParse(definitionSchema, value);
  return r.success ? undefined : issueText(r.issues);
}

/** Validated, typed values of `decls` from the running config; invalid or missing values fall back. */
export function resolveValues(
  decls: PropertyDecls,
  running: Readonly<Record<string, ConfigValue>>,
  fallback: (name: string, decl: PropertyDecl) => ConfigValue,
): { values: Record<string, ConfigValue>; problems: Map<string, string> } {
  const values: Record<string, ConfigValue> = {};
  const problems = new Map<string, string>();
  for (const [name, decl] of Object.entries(decls)) {
    if (!Object.hasOwn(running, name)) {
      values[name] = fallback(name, decl);
      continue;
    }
    const problem = checkValue(decl, running[name]);
    if (problem) {
      problems.set(name, problem);
      values[name] = fallback(name, decl);
    } else {
      values[name] = running[name]!;
    }
  }
  return { values, problems };
}

