/**
 * Tokens of the Python subset xm config files are written in (Python 2 as xm 3.4 ran them):
 * names, numbers (decimal, 0x hex, 0o and legacy leading-0 octal, floats, a trailing L), strings
 * (single, double, triple-quoted, r/u prefixes), operators, and the NEWLINE / INDENT / DEDENT
 * structure of Python's own tokenizer (newlines inside brackets and after a backslash join lines).
 */
import { ConfigFileError } from "./errors.ts";

export interface Position {
  line: number;
  column: number;
}

export type Token =
  | { t: "name"; v: string; pos: Position }
  | { t: "number"; v: number; float: boolean; text: string; pos: Position }
  | { t: "string"; v: string; pos: Position }
  | { t: "op"; v: string; pos: Position }
  | { t: "newline" | "indent" | "dedent" | "eof"; pos: Position };

/** Longest first, so `**` wins over `*`. */
const OPERATORS = [
  "**=", "//=", "**", "//", "==", "!=", "<>", "<=", ">=", "+=", "-=", "*=", "/=", "%=",
  "+", "-", "*", "/", "%", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";",
];
const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;
/** Bounds: a config is a few hundred bytes; these stop a hostile one from costing much. */
export const MAX_SOURCE_BYTES = 256 * 1024;
const MAX_NESTING = 64;

export function describeChar(c: string): string {
  if (c === "") return "the end of the file";
  if (c === "\n") return "the end of the line";
  if (/[\x00-\x1f\x7f]/.test(c)) return `the character \\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  return `'${c}'`;
}

export function tokenize(input: string, source: string): Token[] {
  const text = input.replace(/^\uFEFF/, "").replace(/\r\n?/g, "\n");
  if (text.length > MAX_SOURCE_BYTES) {
    throw new ConfigFileError([{ source, line: 1, column: 1, message: `the file is larger than ${MAX_SOURCE_BYTES} bytes` }]);
  }
  const tokens: Token[] = [];
  const indents = [0];
  const brackets: { c: string; pos: Position }[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  let atLineStart = true;
  const pos = (): Position => ({ line, column: col });
  const fail = (message: string, at: Position = pos()): never => {
    throw new ConfigFileError([{ source, line: at.line, column: at.column, message }]);
  };
  const advance = (n = 1): string => {
    let out = "";
    for (let k = 0; k < n; k++) {
      const c = text[i++] ?? "";
      out += c;
      if (c === "\n") {
        line++;
        col = 1;
      } else col++;
    }
    return out;
  };

  while (i <= text.length) {
    if (atLineStart && brackets.length === 0) {
      // Measure the indentation of a logical line; blank and comment-only lines do not count.
      let width = 0;
      let j = i;
      while (text[j] === " " || text[j] === "\t" || text[j] === "\f") {
        width = text[j] === "\t" ? (Math.floor(width / 8) + 1) * 8 : width + 1;
        j++;
      }
      const c = text[j] ?? "";
      if (c === "\n" || c === "#" || c === "" || (c === "\\" && text[j + 1] === "\n")) {
        advance(j - i);
        if (c === "#") while (i < text.length && text[i] !== "\n") advance();
        if (c === "\\") {
          advance(2);
          continue;
        }
        if (i >= text.length) break;
        advance();
        continue;
      }
      advance(j - i);
      const here = pos();
      if (width > indents[indents.length - 1]!) {
        indents.push(width);
        tokens.push({ t: "indent", pos: here });
      } else {
        while (width < indents[indents.length - 1]!) {
          indents.pop();
          tokens.push({ t: "dedent", pos: here });
        }
        if (width !== indents[indents.length - 1]) fail("unindent does not match any outer indentation level", here);
      }
      atLineStart = false;
    }
    const c = text[i] ?? "";
    const start = pos();
    if (c === "") break;
    if (c === " " || c === "\t" || c === "\f") {
      advance();
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") advance();
      continue;
    }
    if (c === "\\" && text[i + 1] === "\n") {
      advance(2);
      continue;
    }
    if (c === "\n") {
      advance();
      if (brackets.length === 0) {
        tokens.push({ t: "newline", pos: start });
        atLineStart = true;
      }
      continue;
    }
    if (IDENT_START.test(c)) {
      // String prefixes: r'…', u'…', ur'…', b'…'.
      const m = /^([rRuUbB]{1,2})(['"])/.exec(text.slice(i, i + 3));
      if (m && /^(r|u|b|ur|br|rb)$/i.test(m[1]!)) {
        advance(m[1]!.length);
        tokens.push({ t: "string", v: readString(/r/i.test(m[1]!), start), pos: start });
        continue;
      }
      let word = "";
      while (i < text.length && IDENT.test(text[i]!)) word += advance();
      tokens.push({ t: "name", v: word, pos: start });
      continue;
    }
    if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(text[i + 1] ?? ""))) {
      tokens.push(readNumber(start));
      continue;
    }
    if (c === "'" || c === '"') {
      tokens.push({ t: "string", v: readString(false, start), pos: start });
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (!op) fail(`unexpected ${describeChar(c)}`);
    advance(op!.length);
    if (op === "(" || op === "[" || op === "{") {
      brackets.push({ c: op, pos: start });
      if (brackets.length > MAX_NESTING) fail(`brackets nested deeper than ${MAX_NESTING}`, start);
    } else if (op === ")" || op === "]" || op === "}") {
      const open = brackets.pop();
      const want = open ? { "(": ")", "[": "]", "{": "}" }[open.c] : undefined;
      if (!open) fail(`'${op}' closes nothing`, start);
      if (want !== op) fail(`'${op}' does not close the '${open!.c}' opened at ${open!.pos.line}:${open!.pos.column}`, start);
    }
    tokens.push({ t: "op", v: op!, pos: start });
  }
  if (brackets.length > 0) {
    const open = brackets[brackets.length - 1]!;
    fail(`unclosed '${open.c}' (opened at ${open.pos.line}:${open.pos.column})`);
  }
  const end = pos();
  if (tokens.length > 0 && tokens[tokens.length - 1]!.t !== "newline") tokens.push({ t: "newline", pos: end });
  while (indents.length > 1) {
    indents.pop();
    tokens.push({ t: "dedent", pos: end });
  }
  tokens.push({ t: "eof", pos: end });
  return tokens;

  function readNumber(at: Position): Token {
    let body = "";
    while (i < text.length && /[0-9A-Za-z_.]/.test(text[i]!)) {
      // `1e-3`: the sign belongs to the exponent.
      if (/[eE]/.test(text[i]!) && /^[0-9.]+$/.test(body) && /[-+]/.test(text[i + 1] ?? "")) body += advance(2);
      else body += advance();
    }
    const textOf = body;
    if (/[lL]$/.test(body) && /^(0[xX][0-9a-fA-F]+|[0-9]+)[lL]$/.test(body)) body = body.slice(0, -1); // Python 2 long
    let value: number;
    let float = false;
    if (/^0[xX][0-9a-fA-F]+$/.test(body)) value = Number.parseInt(body.slice(2), 16);
    else if (/^0[oO][0-7]+$/.test(body)) value = Number.parseInt(body.slice(2), 8);
    else if (/^0[0-7]+$/.test(body)) value = Number.parseInt(body.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(body)) value = Number.parseInt(body, 10);
    else if (/^([0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)([eE][-+]?[0-9]+)?$/.test(body) && !/^0[0-9]+$/.test(body)) {
      value = Number.parseFloat(body);
      float = true;
    } else if (/^0[xX]/.test(body)) return fail(`bad hex number '${textOf}'`, at);
    else if (/^0[0-9]+$/.test(body)) return fail(`bad octal number '${textOf}' (a leading 0 means octal, digits 0-7)`, at);
    else return fail(`bad number '${textOf}'`, at);
    if (!float && !Number.isSafeInteger(value)) fail(`number '${textOf}' is too large`, at);
    return { t: "number", v: value, float, text: textOf, pos: at };
  }

  function readString(raw: boolean, at: Position): string {
    const quote = text[i]!;
    const triple = text[i + 1] === quote && text[i + 2] === quote;
    advance(triple ? 3 : 1);
    let out = "";
    for (;;) {
      if (i >= text.length) fail(`unterminated string (opened at ${at.line}:${at.column})`);
      const c = text[i]!;
      if (triple ? text.startsWith(quote.repeat(3), i) : c === quote) {
        advance(triple ? 3 : 1);
        return out;
      }
      if (c === "\n" && !triple) fail(`unterminated string (opened at ${at.line}:${at.column}; use ''' … ''' for text over several lines)`);
      if (c !== "\\") {
        out += advance();
        continue;
      }
      const escAt = pos();
      advance();
      const e = text[i] ?? "";
      if (raw) {
        out += `\\${advance()}`;
        continue;
      }
      advance();
      switch (e) {
        case "\n": break; // line continuation inside a string
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
          const hex = text.slice(i, i + 2);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail("bad escape: \\x needs two hex digits", escAt);
          advance(2);
          out += String.fromCharCode(Number.parseInt(hex, 16));
          break;
        }
        case "":
          fail(`unterminated string (opened at ${at.line}:${at.column})`);
          break;
        default:
          // Python keeps unknown escapes as written (`\d` stays backslash-d), which regexes rely on.
          out += `\\${e}`;
      }
    }
  }
}
