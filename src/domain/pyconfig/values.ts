/**
 * Run-time values of the config subset, with Python 2's semantics where configs meet them:
 * int and float kept apart (`7 / 2` is 3), `%` formatting, truthiness, repr/str, equality.
 */

export class PyFloat {
  constructor(readonly v: number) {}
}
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyModule {
  constructor(readonly name: string, readonly attrs: Map<string, PyValue>) {}
}
export class PyFunction {
  /** `self` is the bound receiver of a method (`'a,b'.split`). */
  constructor(readonly name: string, readonly call: (args: PyValue[], kwargs: Map<string, PyValue>) => PyValue) {}
}
export type PyKey = string | number | boolean | null;
export class PyDict {
  constructor(readonly map: Map<PyKey, PyValue> = new Map()) {}
}
/** A `re` match: truthy, with `.group(n)`. */
export class PyMatch {
  constructor(readonly groups: (string | undefined)[]) {}
}
export type PyValue = null | boolean | number | string | PyFloat | PyValue[] | PyTuple | PyDict | PyModule | PyFunction | PyMatch;

/** A Python-level error (TypeError, NameError, …), placed by the evaluator at the expression. */
export class PyError extends Error {}

export const MAX_STRING = 1024 * 1024;
export const MAX_ITEMS = 65_536;

export function typeName(v: PyValue): string {
  if (v === null) return "NoneType";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "int";
  if (typeof v === "string") return "str";
  if (v instanceof PyFloat) return "float";
  if (Array.isArray(v)) return "list";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PyModule) return "module";
  if (v instanceof PyFunction) return "builtin_function_or_method";
  return "match";
}

export function truthy(v: PyValue): boolean {
  if (v === null || v === false) return false;
  if (v === true) return true;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") return v.length > 0;
  if (v instanceof PyFloat) return v.v !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PyTuple) return v.items.length > 0;
  if (v instanceof PyDict) return v.map.size > 0;
  return true;
}

/** The number in an int, bool or float, else undefined. */
export function numberOf(v: PyValue): { n: number; float: boolean } | undefined {
  if (typeof v === "number") return { n: v, float: false };
  if (typeof v === "boolean") return { n: v ? 1 : 0, float: false };
  if (v instanceof PyFloat) return { n: v.v, float: true };
  return undefined;
}

export function makeNumber(n: number, float: boolean): PyValue {
  if (float) return new PyFloat(n);
  if (!Number.isSafeInteger(n)) throw new PyError("integer result too large");
  return n;
}

function floatRepr(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  return String(n);
}

export function str(v: PyValue): string {
  if (typeof v === "string") return v;
  return repr(v);
}

export function repr(v: PyValue): string {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") {
    const q = v.includes("'") && !v.includes('"') ? '"' : "'";
    const body = v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r")
      .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
    return q + (q === "'" ? body.replace(/'/g, "\\'") : body) + q;
  }
  if (v instanceof PyFloat) return floatRepr(v.v);
  if (Array.isArray(v)) return `[${v.map(repr).join(", ")}]`;
  if (v instanceof PyTuple) return v.items.length === 1 ? `(${repr(v.items[0]!)},)` : `(${v.items.map(repr).join(", ")})`;
  if (v instanceof PyDict) return `{${[...v.map].map(([k, x]) => `${repr(k)}: ${repr(x)}`).join(", ")}}`;
  if (v instanceof PyModule) return `<module '${v.name}'>`;
  if (v instanceof PyFunction) return `<built-in function ${v.name}>`;
  return "<match object>";
}

export function equal(a: PyValue, b: PyValue): boolean {
  const na = numberOf(a);
  const nb = numberOf(b);
  if (na && nb) return na.n === nb.n;
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a === null || b === null) return a === b;
  const seqA = Array.isArray(a) ? a : undefined;
  const seqB = Array.isArray(b) ? b : undefined;
  if (seqA && seqB) return seqA.length === seqB.length && seqA.every((x, i) => equal(x, seqB[i]!));
  if (a instanceof PyTuple && b instanceof PyTuple) return a.items.length === b.items.length && a.items.every((x, i) => equal(x, b.items[i]!));
  if (a instanceof PyDict && b instanceof PyDict) {
    return a.map.size === b.map.size && [...a.map].every(([k, x]) => b.map.has(k) && equal(x, b.map.get(k)!));
  }
  return a === b;
}

export function dictKey(v: PyValue): PyKey {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return typeof v === "boolean" ? (v ? 1 : 0) : v;
  if (v instanceof PyFloat && Number.isInteger(v.v)) return v.v;
  throw new PyError(`unhashable type: '${typeName(v)}'`);
}

/** `fmt % args`, Python 2's string formatting: %s %r %d %i %u %x %X %o %f %e %g %c %%, flags, width, precision, %(name)s. */
export function formatPercent(fmt: string, args: PyValue): string {
  const positional = args instanceof PyTuple ? args.items : [args];
  const mapping = args instanceof PyDict ? args : undefined;
  let next = 0;
  const out = fmt.replace(/%(\([^)]*\))?([-+ 0#]*)(\*|\d+)?(?:\.(\*|\d+))?([diouxXeEfFgGcrs%])/g, (_m, key: string | undefined, flags: string, widthText: string | undefined, precText: string | undefined, conv: string) => {
    if (conv === "%") return "%";
    const take = (): PyValue => {
      if (key !== undefined) {
        if (!mapping) throw new PyError("format requires a mapping");
        const name = key.slice(1, -1);
        if (!mapping.map.has(name)) throw new PyError(`KeyError: '${name}'`);
        return mapping.map.get(name)!;
      }
      if (next >= positional.length) throw new PyError("not enough arguments for format string");
      return positional[next++]!;
    };
    const width = widthText === "*" ? Number(numberOf(take())?.n ?? 0) : widthText ? Number(widthText) : 0;
    const precision = precText === "*" ? Number(numberOf(take())?.n ?? 0) : precText !== undefined ? Number(precText) : undefined;
    const value = take();
    let body: string;
    let numeric = false;
    switch (conv) {
      case "s": body = str(value); if (precision !== undefined) body = body.slice(0, precision); break;
      case "r": body = repr(value); if (precision !== undefined) body = body.slice(0, precision); break;
      case "c": {
        const n = numberOf(value);
        body = typeof value === "string" && value.length === 1 ? value : n && !n.float ? String.fromCharCode(n.n) : "";
        if (!body) throw new PyError("%c requires int or char");
        break;
      }
      default: {
        const n = numberOf(value);
        if (!n) throw new PyError(`%${conv} format: a number is required, not ${typeName(value)}`);
        numeric = true;
        const sign = n.n < 0 || Object.is(n.n, -0) ? "-" : flags.includes("+") ? "+" : flags.includes(" ") ? " " : "";
        const abs = Math.abs(n.n);
        const int = Math.trunc(abs);
        switch (conv) {
          case "d": case "i": case "u": body = String(int); break;
          case "x": body = (flags.includes("#") ? "0x" : "") + int.toString(16); break;
          case "X": body = (flags.includes("#") ? "0X" : "") + int.toString(16).toUpperCase(); break;
          case "o": body = (flags.includes("#") ? "0" : "") + int.toString(8); break;
          case "e": case "E": body = abs.toExponential(precision ?? 6).replace(/e([-+])(\d)$/, "e$10$2"); if (conv === "E") body = body.toUpperCase(); break;
          case "f": case "F": body = abs.toFixed(precision ?? 6); break;
          default: body = String(Number(abs.toPrecision(precision || 6))); if (conv === "G") body = body.toUpperCase();
        }
        if (precision !== undefined && "diuxXo".includes(conv)) body = body.padStart(precision, "0");
        body = sign + body;
      }
    }
    if (body.length < width) {
      if (flags.includes("-")) body = body.padEnd(width);
      else if (numeric && flags.includes("0")) {
        const sign = /^[-+ ]/.test(body) ? body[0]! : "";
        body = sign + body.slice(sign.length).padStart(width - sign.length, "0");
      } else body = body.padStart(width);
    }
    return body;
  });
  if (!mapping && next < positional.length) throw new PyError("not all arguments converted during string formatting");
  if (out.length > MAX_STRING) throw new PyError(`string longer than ${MAX_STRING} characters`);
  return out;
}
