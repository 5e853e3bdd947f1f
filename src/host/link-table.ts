/**
 * `dladm show-link` output in illumos dladm's column style (libofmt): fixed field widths (LINK 12,
 * CLASS 10, MTU 7, STATE 9), left-justified, the last field unpadded, an empty value shown as
 * `--`, and a value too wide for its field pushing the next columns right by its overflow, which
 * later fields absorb where they have room. `-p` prints `:`-separated values with `:` and `\`
 * escaped.
 */
import type { Link } from "./links.ts";
import { legacyReason } from "./link-choice.ts";

export interface Field {
  name: string;
  width: number;
  value(link: Link, links: readonly Link[]): string;
}

export const LINK_FIELDS: readonly Field[] = [
  { name: "LINK", width: 12, value: (l) => l.name },
  { name: "CLASS", width: 10, value: (l) => l.class },
  { name: "MTU", width: 7, value: (l) => (l.mtu === undefined ? "?" : String(l.mtu)) },
  { name: "STATE", width: 9, value: (l) => l.state },
  { name: "OVER", width: 16, value: (l) => l.over.join(" ") },
  // xvm's own field (not in the default set): why default-nic would skip the link.
  { name: "LEGACY", width: 14, value: (l, all) => legacyReason(l, all) ?? "no" },
];

export const DEFAULT_FIELDS = ["LINK", "CLASS", "MTU", "STATE", "OVER"] as const;

/** Resolves `-o link,class` (case-insensitive; `all` = every field). Throws on an unknown name. */
export function selectFields(spec: string | undefined): Field[] {
  if (spec === undefined) return DEFAULT_FIELDS.map((n) => LINK_FIELDS.find((f) => f.name === n)!);
  const out: Field[] = [];
  for (const raw of spec.split(",")) {
    const name = raw.trim().toUpperCase();
    if (name === "ALL") {
      out.push(...LINK_FIELDS);
      continue;
    }
    const field = LINK_FIELDS.find((f) => f.name === name);
    if (!field) throw new Error(`invalid field '${raw.trim()}'`);
    out.push(field);
  }
  return out;
}

const UNDEF = "--";

/** One line of human output, applying libofmt's overflow rule. */
function humanLine(fields: readonly Field[], values: readonly string[]): string {
  let line = "";
  let overflow = 0;
  fields.forEach((field, i) => {
    const value = values[i]!;
    if (i === fields.length - 1) {
      line += value;
      return;
    }
    let width = field.width;
    if (value.length + overflow >= width) {
      overflow += value.length - width + 1;
      line += `${value} `;
      return;
    }
    if (overflow > 0) {
      const compress = Math.min(overflow, width - value.length);
      overflow -= compress;
      width -= compress;
    }
    line += value.padEnd(width);
  });
  return line;
}

function escapeParsable(value: string): string {
  return value.replace(/[:\\]/g, (c) => `\\${c}`);
}

export interface TableOptions {
  fields: readonly Field[];
  parsable?: boolean;
}

/** The whole listing, header included (none in parsable mode), each line ending in a newline. */
export function formatLinkTable(links: readonly Link[], all: readonly Link[], options: TableOptions): string {
  const { fields, parsable } = options;
  const lines: string[] = [];
  if (!parsable) lines.push(humanLine(fields, fields.map((f) => f.name)));
  for (const link of links) {
    const values = fields.map((f) => f.value(link, all));
    if (parsable) {
      lines.push(fields.length === 1 ? values[0]! : values.map(escapeParsable).join(":"));
    } else {
      lines.push(humanLine(fields, values.map((v) => (v === "" ? UNDEF : v))));
    }
  }
  return lines.map((l) => `${l}\n`).join("");
}
