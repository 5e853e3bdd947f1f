/**
 * SXP (S-expressions) as xend read and wrote them (`tools/python/xen/xend/sxp.py`): the format of the
 * legacy HTTP interface, of domain configs sent by libvirt, and of the relocation stream's config.
 *
 * Reading: whitespace is ` \t\n\v\f\r`; `#` starts a comment to the end of the line; `(` `)` make
 * lists; strings are quoted with `"` or `'` and take the escapes `\a \b \t \n \v \f \r \\ \' \"`,
 * `\xHH` and `\ooo`; atoms end at whitespace, `#` or any of `{}()<>[]!;`. Every atom is a string,
 * numbers included: the reader has no types.
 *
 * Writing (`show`): lists as `(a b c)`, numbers as Python's `str()`, strings bare when atom-safe
 * (letters, digits and `.-_:/~`, or exactly `@`), otherwise as Python 2's `repr()` of the UTF-8 bytes.
 *
 * Deliberate differences from sxp.py, each because xend's behaviour was a bug:
 * - an unknown escape (`\q`) keeps both the backslash and the character (sxp.py dropped the character);
 * - `\x` not followed by a hex digit is kept literally (sxp.py referred to an undefined name there);
 * - the empty string is written `''` (sxp.py wrote nothing, so it could not be read back);
 * - a character above U+007F may start an atom (sxp.py only accepted ASCII there).
 * Strings are sequences of bytes in xend; here escapes produce bytes, the whole string is decoded as
 * UTF-8, and as Latin-1 when it is not valid UTF-8 (so `'\xe9'` reads as "é" either way).
 */

export const SXP_MIME_TYPE = "application/sxp";

/** What the reader yields: every atom is a string, every list an array. */
export type SxpNode = string | SxpNode[];

/** A number written the way Python writes a float (`0.0`, `1.5`), even when it is integral. */
export class SxpFloat {
  constructor(readonly value: number) {}
}

/** What the writer accepts. Integral numbers are written as integers, others as floats. */
export type Sxp = string | number | SxpFloat | readonly Sxp[];

export function float(value: number): SxpFloat {
  return new SxpFloat(value);
}

export class SxpParseError extends Error {
  /** 1-based line and column of the character where the error was found. */
  readonly line: number;
  readonly column: number;

  constructor(message: string, line: number, column: number) {
    super(`${message} (line ${line}, column ${column})`);
    this.name = "SxpParseError";
    this.line = line;
    this.column = column;
  }
}

const SPACE = " \t\n\v\f\r";
const SEPARATORS = "{}()<>[]!;";
const ESCAPES: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, "\\": 92, "'": 39, '"': 34 };
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeBytes(bytes: number[]): string {
  const u8 = Uint8Array.from(bytes);
  try {
    return strictUtf8.decode(u8);
  } catch {
    return String.fromCharCode(...bytes);
  }
}

class Reader {
  private pos = 0;

  constructor(private readonly text: string) {}

  private error(message: string, at = this.pos): SxpParseError {
    const before = this.text.slice(0, at);
    const line = before.split("\n").length;
    return new SxpParseError(message, line, at - (before.lastIndexOf("\n") + 1) + 1);
  }

  private advance(): string {
    return this.text[this.pos++]!;
  }

  /** Skips whitespace and comments; returns false at the end of input (or at ^D, as sxp.py did). */
  private skip(): boolean {
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (SPACE.includes(c)) this.advance();
      else if (c === "#") {
        while (this.pos < this.text.length && this.text[this.pos] !== "\n") this.pos++;
      } else if (c === "\x04") {
        this.pos = this.text.length;
        return false;
      } else return true;
    }
    return false;
  }

  readAll(): SxpNode[] {
    const out: SxpNode[] = [];
    while (this.skip()) out.push(this.value(0));
    return out;
  }

  private value(depth: number): SxpNode {
    const c = this.text[this.pos]!;
    if (c === "(") return this.list(depth);
    if (c === ")") throw this.error("syntax error: )");
    if (c === '"' || c === "'") return this.string();
    const code = c.charCodeAt(0);
    if ((code > 0x20 && code < 0x7f) || code > 0x7f) return this.atom();
    throw this.error(`invalid character: code ${code}`);
  }

  private list(depth: number): SxpNode[] {
    if (depth > 200) throw this.error("lists nested too deeply");
    const open = this.pos;
    this.advance();
    const out: SxpNode[] = [];
    for (;;) {
      if (!this.skip()) throw this.error("unexpected EOF: list opened here is not closed", open);
      if (this.text[this.pos] === ")") {
        this.advance();
        return out;
      }
      out.push(this.value(depth + 1));
    }
  }

  private atom(): string {
    const start = this.pos;
    this.advance();
    while (this.pos < this.text.length) {
      const c = this.text[this.pos]!;
      if (SPACE.includes(c) || c === "#" || SEPARATORS.includes(c)) break;
      this.advance();
    }
    return this.text.slice(start, this.pos);
  }

  private string(): string {
    const open = this.pos;
    const delim = this.advance();
    const bytes: number[] = [];
    const push = (s: string) => {
      for (const b of utf8.encode(s)) bytes.push(b);
    };
    for (;;) {
      if (this.pos >= this.text.length) throw this.error("unexpected EOF: string opened here is not closed", open);
      const c = this.advance();
      if (c === delim) return decodeBytes(bytes);
      if (c !== "\\") {
        push(c);
        continue;
      }
      if (this.pos >= this.text.length) throw this.error("unexpected EOF: string opened here is not closed", open);
      const e = this.text[this.pos]!;
      if (e in ESCAPES) {
        this.advance();
        bytes.push(ESCAPES[e]!);
      } else if (e === "x") {
        const hex = /^[0-9A-Fa-f]{1,2}/.exec(this.text.slice(this.pos + 1, this.pos + 3));
        if (hex) {
          this.pos += 1 + hex[0].length;
          bytes.push(Number.parseInt(hex[0], 16));
        } else push("\\");
      } else if (e >= "0" && e <= "7") {
        const oct = /^[0-7]{1,3}/.exec(this.text.slice(this.pos, this.pos + 3))![0];
        const v = Number.parseInt(oct, 8);
        if (v > 0xff) throw this.error(`invalid octal escape: out of range ${oct}`);
        this.pos += oct.length;
        bytes.push(v);
      } else push("\\");
    }
  }
}

/** Parses every value in `text`. Throws {@link SxpParseError}. */
export function parseAll(text: string): SxpNode[] {
  return new Reader(text).readAll();
}

/**
 * Parses exactly one value (as xend's `Args.sxpr` did for a `config=` field): empty input and more
 * than one value are errors.
 */
export function parse(text: string): SxpNode {
  const all = parseAll(text);
  if (all.length === 0) throw new SxpParseError("no value", 1, 1);
  if (all.length > 1) throw new SxpParseError("Too many sxprs", 1, 1);
  return all[0]!;
}

const ATOM = /^[A-Za-z0-9.\-_:/~]+$/;
/** Printable ASCII without `'` and `\`: repr() is the string in single quotes. */
const PLAIN = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

/** xend's `atomp`: true when a string can be written without quotes. */
export function atomp(s: string): boolean {
  return s === "@" || ATOM.test(s);
}

/** Python 2's `repr()` of a byte string (the UTF-8 bytes of `s`). */
export function pyRepr(s: string): string {
  if (PLAIN.test(s)) return `'${s}'`;
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const b of utf8.encode(s)) {
    if (b === quote.charCodeAt(0) || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b === 0x09) out += "\\t";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b < 0x20 || b >= 0x7f) out += "\\x" + b.toString(16).padStart(2, "0");
    else out += String.fromCharCode(b);
  }
  return out + quote;
}

/** Python 2's `str()` of a float: `%.12g`, with `.0` added to integral values. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const abs = Math.abs(x);
  if (abs >= 1e-4 && abs < 1e12) {
    // %.12g is fixed notation in this range; toPrecision(12) agrees with it there.
    let fixed = x.toPrecision(12);
    if (!fixed.includes("e")) {
      if (fixed.includes(".")) fixed = fixed.replace(/\.?0+$/, "");
      return fixed.includes(".") ? fixed : `${fixed}.0`;
    }
  }
  const [mant, expText] = x.toExponential(11).split("e") as [string, string];
  const exp = Number.parseInt(expText, 10);
  if (exp < -4 || exp >= 12) {
    const m = mant.includes(".") ? mant.replace(/0+$/, "").replace(/\.$/, "") : mant;
    const sign = exp < 0 ? "-" : "+";
    return `${m}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  let fixed = x.toFixed(Math.max(0, 11 - exp));
  if (fixed.includes(".")) fixed = fixed.replace(/0+$/, "").replace(/\.$/, "");
  return fixed.includes(".") ? fixed : `${fixed}.0`;
}

function showNumber(n: number): string {
  return Number.isInteger(n) && Math.abs(n) < 1e21 ? String(n) : pyFloat(n);
}

/** Writes a value as xend's `sxp.show` did. */
export function show(value: Sxp): string {
  if (typeof value === "string") return value !== "" && atomp(value) ? value : pyRepr(value);
  if (typeof value === "number") return showNumber(value);
  if (value instanceof SxpFloat) return pyFloat(value.value);
  // One string built left to right: records of a few KB are written per request.
  const items = value as readonly Sxp[];
  let out = "(";
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += " ";
    out += show(items[i]!);
  }
  return out + ")";
}

// Accessors, as sxp.py named them. A list whose second element is `(@ …)` carries attributes.

export function isList(node: SxpNode | undefined): node is SxpNode[] {
  return Array.isArray(node);
}

/** The element name: the first item of a list, or the atom itself. */
export function name(node: SxpNode | undefined): string | undefined {
  if (typeof node === "string") return node;
  if (Array.isArray(node) && typeof node[0] === "string") return node[0];
  return undefined;
}

export function attributes(node: SxpNode): SxpNode[] {
  if (Array.isArray(node) && node.length > 1 && Array.isArray(node[1]) && node[1][0] === "@") return node[1].slice(1);
  return [];
}

/** The items after the name (and after the attributes), optionally only elements named `elt`. */
export function children(node: SxpNode, elt?: string): SxpNode[] {
  if (!Array.isArray(node) || node.length < 2) return [];
  const first = Array.isArray(node[1]) && node[1][0] === "@" ? 2 : 1;
  const kids = node.slice(first);
  return elt === undefined ? kids : kids.filter((k) => Array.isArray(k) && k[0] === elt);
}

/** The first child element named `elt`. */
export function child(node: SxpNode, elt: string): SxpNode[] | undefined {
  return children(node).find((k): k is SxpNode[] => Array.isArray(k) && k[0] === elt);
}

/** The first value of the first child element named `elt` (`(memory 512)` -> "512"). */
export function childValue(node: SxpNode, elt: string): SxpNode | undefined {
  const kid = child(node, elt);
  return kid ? kid[1] : undefined;
}
