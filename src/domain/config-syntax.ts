/**
 * The syntax of xm/xl domain config files: `key = value` statements separated by newlines or `;`,
 * values that are strings ('…' or "…"), numbers (decimal, octal with a leading 0 or 0o, hex with
 * 0x, optionally negative, or with a fraction) and [lists, of, values]; `#` comments; newlines
 * inside brackets and after a trailing backslash are ordinary spaces.
 *
 * xm executed these files as Python. We accept the literal subset every real config uses (the one
 * xl(1) later formalised), plus Python's True/False (as 1/0), and say exactly where anything else
 * is, as `file:line:column: message`.
 */

export interface Position {
  line: number;
  column: number;
}

export type ConfigValue =
  | { kind: "string"; value: string; pos: Position }
  | { kind: "number"; value: number; text: string; pos: Position }
  | { kind: "list"; items: ConfigValue[]; pos: Position };

export interface ConfigEntry {
  key: string;
  keyPos: Position;
  value: ConfigValue;
  /** Where the entry came from when not the file itself (a command-line `var=value`). */
  source?: string;
}

export interface Diagnostic {
  source: string;
  line: number;
  column: number;
  message: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.source}:${d.line}:${d.column}: ${d.message}`;
}

/** A config file that cannot be used; `diagnostics` holds every problem found, in file order. */
export class ConfigFileError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join("\n"));
    this.name = "ConfigFileError";
  }
}

class Scanner {
  i = 0;
  line = 1;
  col = 1;
  constructor(readonly text: string, readonly source: string) {}

  get pos(): Position {
    return { line: this.line, column: this.col };
  }
  peek(offset = 0): string {
    return this.text[this.i + offset] ?? "";
  }
  next(): string {
    const c = this.text[this.i++] ?? "";
    if (c === "\n") {
      this.line++;
      this.col = 1;
    } else {
      this.col++;
    }
    return c;
  }
  fail(message: string, at: Position = this.pos): never {
    throw new ConfigFileError([{ source: this.source, line: at.line, column: at.column, message }]);
  }
  /** Skips spaces, tabs, comments and line continuations; newlines too when `newlines`. */
  skip(newlines: boolean): void {
    for (;;) {
      const c = this.peek();
      if (c === " " || c === "\t" || c === "\r" || c === "\f" || c === "\v") this.next();
      else if (c === "#") while (this.peek() !== "" && this.peek() !== "\n") this.next();
      else if (c === "\\" && (this.peek(1) === "\n" || (this.peek(1) === "\r" && this.peek(2) === "\n"))) {
        this.next();
        if (this.peek() === "\r") this.next();
        this.next();
      } else if (newlines && c === "\n") this.next();
      else return;
    }
  }
}

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;

function describe(c: string): string {
  if (c === "") return "the end of the file";
  if (c === "\n") return "the end of the line";
  return `'${c}'`;
}

function parseString(s: Scanner): ConfigValue {
  const pos = s.pos;
  const quote = s.next();
  if (s.peek() === quote && s.peek(1) === quote) {
    s.fail(`triple-quoted strings are not supported; use one line with ${quote}…${quote}`, pos);
  }
  let out = "";
  for (;;) {
    const c = s.peek();
    if (c === "" || c === "\n") s.fail(`unterminated string (opened at ${pos.line}:${pos.column}; strings cannot span lines)`);
    s.next();
    if (c === quote) break;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const escPos = { line: s.line, column: s.col - 1 };
    const e = s.next();
    switch (e) {
      case "n": out += "\n"; break;
      case "t": out += "\t"; break;
      case "r": out += "\r"; break;
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "v": out += "\v"; break;
      case "0": out += "\0"; break;
      case "\\": out += "\\"; break;
      case "'": out += "'"; break;
      case '"': out += '"'; break;
      case "x": {
        const hex = s.peek() + s.peek(1);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) s.fail("bad escape: \\x needs two hex digits", escPos);
        s.next();
        s.next();
        out += String.fromCharCode(Number.parseInt(hex, 16));
        break;
      }
      case "":
      case "\n":
        s.fail(`unterminated string (opened at ${pos.line}:${pos.column}; strings cannot span lines)`);
        break;
      default:
        // Python keeps unknown escapes as written (`\d` stays backslash-d), which regexes rely on.
        out += `\\${e}`;
    }
  }
  return { kind: "string", value: out, pos };
}

function parseNumber(s: Scanner): ConfigValue {
  const pos = s.pos;
  let text = "";
  if (s.peek() === "-" || s.peek() === "+") text += s.next();
  while (/[0-9A-Za-z_.]/.test(s.peek())) text += s.next();
  const body = text.replace(/^[-+]/, "");
  const sign = text.startsWith("-") ? -1 : 1;
  let value: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) value = Number.parseInt(body.slice(2), 16);
  else if (/^0[oO][0-7]+$/.test(body)) value = Number.parseInt(body.slice(2), 8);
  else if (/^0[0-7]+$/.test(body)) value = Number.parseInt(body.slice(1), 8);
  else if (/^(0|[1-9][0-9]*)$/.test(body)) value = Number.parseInt(body, 10);
  else if (/^[0-9]+\.[0-9]*$|^[0-9]*\.[0-9]+$/.test(body) && !/^0[0-9]/.test(body)) value = Number.parseFloat(body);
  else if (/^0[xX]/.test(body)) s.fail(`bad hex number '${text}'`, pos);
  else if (/^0[0-9]+$/.test(body)) s.fail(`bad octal number '${text}' (a leading 0 means octal, digits 0-7)`, pos);
  else s.fail(`bad number '${text}'`, pos);
  if (!Number.isSafeInteger(value) && Number.isInteger(value)) s.fail(`number '${text}' is too large`, pos);
  return { kind: "number", value: sign * value, text, pos };
}

function parseValue(s: Scanner, inList: boolean): ConfigValue {
  s.skip(inList);
  const c = s.peek();
  const pos = s.pos;
  if (c === "'" || c === '"') return parseString(s);
  if (/[0-9.]/.test(c) || ((c === "-" || c === "+") && /[0-9.]/.test(s.peek(1)))) return parseNumber(s);
  if (c === "[") {
    s.next();
    const items: ConfigValue[] = [];
    for (;;) {
      s.skip(true);
      if (s.peek() === "]") {
        s.next();
        break;
      }
      if (s.peek() === "") s.fail(`unclosed '[' (opened at ${pos.line}:${pos.column})`);
      items.push(parseValue(s, true));
      s.skip(true);
      const sep = s.peek();
      if (sep === ",") {
        s.next();
        continue;
      }
      if (sep === "]") {
        s.next();
        break;
      }
      if (sep === "") s.fail(`unclosed '[' (opened at ${pos.line}:${pos.column})`);
      s.fail(`expected ',' or ']' in the list opened at ${pos.line}:${pos.column}, found ${describe(sep)}`);
    }
    return { kind: "list", items, pos };
  }
  if (IDENT_START.test(c)) {
    let word = "";
    while (IDENT.test(s.peek())) word += s.next();
    if (word === "True" || word === "False") return { kind: "number", value: word === "True" ? 1 : 0, text: word, pos };
    s.fail(`expected a value (a 'string', a number or a [list]), found the bare word '${word}'; put text in quotes`, pos);
  }
  if (c === "(" || c === "{") s.fail(`expected a value (a 'string', a number or a [list]), found ${describe(c)}: tuples and dicts are not supported`, pos);
  s.fail(`expected a value (a 'string', a number or a [list]), found ${describe(c)}`, pos);
}

/** Parses a whole file; throws {@link ConfigFileError} at the first syntax error. */
export function parseConfigText(text: string, source: string): ConfigEntry[] {
  const s = new Scanner(text.replace(/^\uFEFF/, ""), source);
  const entries: ConfigEntry[] = [];
  for (;;) {
    s.skip(true);
    while (s.peek() === ";") {
      s.next();
      s.skip(true);
    }
    if (s.peek() === "") break;
    const keyPos = s.pos;
    if (!IDENT_START.test(s.peek())) s.fail(`expected a setting name (like memory = 512), found ${describe(s.peek())}`);
    let key = "";
    while (IDENT.test(s.peek())) key += s.next();
    s.skip(false);
    if (s.peek() !== "=") {
      if (s.peek() === "(") s.fail(`'${key}(' looks like Python code; only 'name = value' settings are supported`);
      s.fail(`expected '=' after '${key}', found ${describe(s.peek())}`);
    }
    s.next();
    s.skip(false);
    if (s.peek() === "" || s.peek() === "\n" || s.peek() === ";") s.fail(`expected a value after '${key} ='`);
    const value = parseValue(s, false);
    s.skip(false);
    const end = s.peek();
    if (end !== "" && end !== "\n" && end !== ";") {
      s.fail(`expected the end of the line after the value of '${key}', found ${describe(end)}`);
    }
    entries.push({ key, keyPos, value });
  }
  return entries;
}

/**
 * Parses a command-line `var=value`. The value uses the file syntax when it is one whole value
 * (`memory=256`, `vif=['mac=…']`, `name='a b'`); anything else is taken as a plain string
 * (`name=web2`, `extra=console=hvc0 quiet`), as the shell has already removed the quotes.
 */
export function parseOverride(arg: string, source = "command line"): ConfigEntry {
  const eq = arg.indexOf("=");
  const where = `${source} '${arg}'`;
  if (eq <= 0) throw new ConfigFileError([{ source: where, line: 1, column: 1, message: "expected var=value" }]);
  const key = arg.slice(0, eq).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new ConfigFileError([{ source: where, line: 1, column: 1, message: `'${key}' is not a setting name` }]);
  }
  const raw = arg.slice(eq + 1);
  const valuePos = { line: 1, column: eq + 2 };
  let value: ConfigValue = { kind: "string", value: raw, pos: valuePos };
  try {
    // Same columns as the argument: the key's place is taken by a dummy name of its length.
    const entries = parseConfigText(`${"x".repeat(eq)}=${raw}`, where);
    if (entries.length === 1) value = entries[0]!.value;
  } catch {
    // not a literal: a plain string, as xm took it
  }
  return { key, keyPos: { line: 1, column: 1 }, value, source: where };
}
