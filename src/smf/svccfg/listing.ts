/**
 * listprop / listpg output, byte for byte as svccfg prints it (listprop(), list_pg_info(),
 * list_prop_info()): names left-justified to the longest name printed, two spaces, the pg type
 * (plus a tab and NONPERSISTENT), or the property type padded to 7 and a space, then " value" for
 * each value — quoted when the value holds a blank, a newline, `"`, `(` or `)`, or when a string
 * property has several values.
 */
import { fnmatch } from "../fmri.ts";
import type { PgMap, Property, PropertyGroup, Template } from "../model.ts";
import { escapeText } from "../../security/log-escape.ts";

type Entry = { name: string; pg: PropertyGroup } | { name: string; prop: Property; template?: Template };

/**
 * Quotes a value as quote_and_print does: `"` and `\` get a backslash. xvm also writes control
 * characters as escapes (`\n`, `\t`, `\x1b`; issue 13 §4): a value never spans lines or moves
 * the terminal's cursor. The backslash itself being escaped, the text stays unambiguous.
 */
export function quoteValue(value: string): string {
  return `"${escapeText(value.replace(/["\\]/g, "\\$&"), Number.MAX_SAFE_INTEGER)}"`;
}

/** A control character (C0, DEL, C1) or a character that reorders or breaks lines. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export function formatValues(prop: Property): string {
  const multipleStrings = prop.values.length > 1 && (prop.type === "astring" || prop.type === "ustring");
  return prop.values.map((v) => ` ${multipleStrings || /[ "()]/.test(v) || CONTROL.test(v) ? quoteValue(v) : v}`).join("");
}

/** A group or property name as listed (names are checked on creation; escaped all the same). */
function nameShown(name: string): string {
  return escapeText(name, Number.MAX_SAFE_INTEGER);
}

/** Matching groups and properties in listing order: a group that matches brings all its properties. */
function collect(pgs: PgMap, pattern: string | undefined, onlyPgs: boolean, templates?: Record<string, Template>): Entry[] {
  const out: Entry[] = [];
  for (const [pgName, pg] of Object.entries(pgs)) {
    const pgMatches = pattern === undefined || fnmatch(pattern, pgName);
    if (pgMatches) out.push({ name: pgName, pg });
    if (onlyPgs) continue;
    for (const [propName, prop] of Object.entries(pg.props)) {
      const name = `${pgName}/${propName}`;
      if (pattern === undefined || pgMatches || fnmatch(pattern, name)) {
        const template = templates?.[name];
        out.push(template ? { name, prop, template } : { name, prop });
      }
    }
  }
  return out;
}

function pgLine(name: string, width: number, pg: PropertyGroup): string {
  return `${nameShown(name).padEnd(width)}  ${nameShown(pg.type)}${pg.flags & 1 ? "\tNONPERSISTENT" : ""}\n`;
}

function propLine(name: string, width: number, prop: Property): string {
  return `${nameShown(name).padEnd(width)}  ${prop.type.padEnd(7)} ${formatValues(prop)}\n`;
}

/** `listprop [pattern]` (or `listpg [pattern]` with onlyPgs). */
export function formatListprop(pgs: PgMap, pattern?: string, onlyPgs = false): string {
  const entries = collect(pgs, pattern, onlyPgs);
  const width = Math.max(0, ...entries.map((e) => nameShown(e.name).length));
  return entries.map((e) => ("pg" in e ? pgLine(e.name, width, e.pg) : propLine(e.name, width, e.prop))).join("");
}

const TMPL_VALUE_INDENT = "  ";
const TMPL_INDENT = "    ";

function constraintLines(t: Template): string[] {
  const lines: string[] = [];
  if (t.min !== undefined || t.max !== undefined) {
    const lo = t.min ?? (t.type === "count" ? 0 : "-9223372036854775808");
    const hi = t.max ?? (t.type === "count" ? "18446744073709551615" : "9223372036854775807");
    lines.push(`${TMPL_INDENT}range: ${lo} to ${hi}`);
  }
  for (const v of t.values ?? []) lines.push(`${TMPL_INDENT}value name: ${v}`);
  return lines.length ? [`${TMPL_VALUE_INDENT}value constraints:`, ...lines] : [];
}

/**
 * `describe [-v] [pattern]`: the template's common name, then listprop lines each followed by the
 * template description (verbose: type, owner, default and constraints too), as list_prop_tmpl
 * lays them out.
 */
export function formatDescribe(
  pgs: PgMap, templates: Record<string, Template>, commonName: string | undefined, pattern: string | undefined, verbose: boolean,
): string {
  let out = commonName ? `${TMPL_INDENT}common name: ${commonName}\n` : "";
  const entries = collect(pgs, pattern, false, templates);
  const width = Math.max(0, ...entries.map((e) => e.name.length));
  for (const e of entries) {
    if ("pg" in e) {
      out += pgLine(e.name, width, e.pg);
      continue;
    }
    out += propLine(e.name, width, e.prop);
    const t = e.template;
    if (!t) continue;
    if (verbose) out += `${TMPL_INDENT}type: ${t.type}\n${TMPL_INDENT}required: false\n`;
    out += `${TMPL_INDENT}${t.description}\n`;
    if (!verbose) continue;
    out += `${TMPL_INDENT}declared by: ${t.owner}\n${TMPL_INDENT}default: ${t.default}\n`;
    for (const v of e.prop.values) out += `${TMPL_VALUE_INDENT}value: ${v}\n`;
    out += constraintLines(t).map((l) => `${l}\n`).join("");
  }
  return out;
}

/** `describe -t [pattern]`: template data only, one block per templated property. */
export function formatTemplates(templates: Record<string, Template>, pattern: string | undefined, verbose: boolean): string {
  let out = "";
  for (const [name, t] of Object.entries(templates)) {
    const pg = name.slice(0, name.indexOf("/"));
    if (pattern !== undefined && !fnmatch(pattern, pg) && !fnmatch(pattern, name)) continue;
    out += `${TMPL_VALUE_INDENT}name: ${name}\n${TMPL_VALUE_INDENT}type: ${t.type}\n${TMPL_INDENT}${t.description}\n`;
    if (verbose) {
      out += `${TMPL_INDENT}declared by: ${t.owner}\n${TMPL_INDENT}default: ${t.default}\n`;
      out += constraintLines(t).map((l) => `${l}\n`).join("");
    }
  }
  return out;
}
