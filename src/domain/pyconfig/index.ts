/**
 * xm config files as the Python they were (xm's create.py exec'd them), evaluated by a small
 * interpreter of the subset real configs use. See docs/domains.md "Config files".
 */
import type { ConfigEntry, ConfigValue } from "../config-syntax.ts";
import { evaluateProgram, type Assignment } from "./evaluate.ts";
import { tokenize, type Position } from "./lexer.ts";
import { realHost, type HostAccess } from "./modules.ts";
import { parseProgram } from "./parser.ts";
import { PyFloat, PyTuple, repr, typeName, type PyValue } from "./values.ts";

export { ConfigFileError, formatDiagnostic, type Diagnostic } from "./errors.ts";
export { realHost, type HostAccess } from "./modules.ts";
export type { PyValue } from "./values.ts";

export interface ConfigRun {
  entries: ConfigEntry[];
  /** Names the config reads (helper variables and `var=value` variables it uses). */
  read: Set<string>;
}

/** Runs a config's text with `vars` (xm's `var=value` arguments) defined; throws ConfigFileError. */
export function runConfig(text: string, source: string, vars: ReadonlyMap<string, PyValue> = new Map(), host: HostAccess = realHost): ConfigRun {
  const program = parseProgram(tokenize(text, source), source);
  const { assignments, read } = evaluateProgram(program, source, vars, host);
  const entries: ConfigEntry[] = [];
  for (const a of assignments) {
    // None means "not set", as create.py skipped options whose value was None.
    if (a.value === null) continue;
    entries.push({ key: a.name, keyPos: a.keyPos, value: configValueOf(a.value, a.valuePos, a), conditional: a.conditional || undefined });
  }
  return { entries, read };
}

/** A literal's value, for a command-line `var=value` (undefined when the text is not one value). */
export function literalValue(text: string, source: string): PyValue | undefined {
  try {
    const program = parseProgram(tokenize(`__value__ = ${text}\n`, source), source);
    if (program.length !== 1) return undefined;
    const { assignments } = evaluateProgram(program, source, new Map(), realHost);
    return assignments.length === 1 ? assignments[0]!.value : undefined;
  } catch {
    return undefined;
  }
}

/** A run-time value as a config entry's value; list items are placed where they were written when known. */
export function configValueOf(v: PyValue, pos: Position, a?: Assignment): ConfigValue {
  if (typeof v === "string") return { kind: "string", value: v, pos };
  if (typeof v === "boolean") return { kind: "number", value: v ? 1 : 0, text: v ? "True" : "False", pos };
  if (typeof v === "number") return { kind: "number", value: v, text: String(v), pos };
  if (v instanceof PyFloat) return { kind: "number", value: v.v, text: repr(v), pos };
  if (Array.isArray(v) || v instanceof PyTuple) {
    const items = Array.isArray(v) ? v : v.items;
    return { kind: "list", items: items.map((x, i) => configValueOf(x, a?.itemPos?.[i] ?? pos)), pos };
  }
  return { kind: "other", type: typeName(v), pos };
}
