/** The builtin functions a config may call: conversions and a few pure helpers, nothing with effects. */
import { MAX_ITEMS, PyDict, PyError, PyFloat, PyFunction, PyTuple, dictKey, numberOf, repr, str, truthy, typeName, type PyValue } from "./values.ts";

function items(v: PyValue, what: string): PyValue[] {
  if (Array.isArray(v)) return v;
  if (v instanceof PyTuple) return v.items;
  if (typeof v === "string") return [...v];
  if (v instanceof PyDict) return [...v.map.keys()];
  throw new PyError(`${what}: '${typeName(v)}' object is not iterable`);
}

function toInt(v: PyValue, base?: PyValue): number {
  if (typeof v === "string") {
    const radix = base === undefined ? 10 : Number(numberOf(base)?.n ?? 10);
    const text = v.trim().replace(/[lL]$/, "");
    const body = radix === 16 ? text.replace(/^([-+]?)0[xX]/, "$1") : text;
    const valid = { 10: /^[-+]?\d+$/, 16: /^[-+]?[0-9a-fA-F]+$/, 8: /^[-+]?[0-7]+$/, 2: /^[-+]?[01]+$/ }[radix as 10 | 16 | 8 | 2];
    if (!valid || !valid.test(body)) throw new PyError(`invalid literal for int() with base ${radix}: ${repr(v)}`);
    const n = Number.parseInt(body, radix);
    if (!Number.isSafeInteger(n)) throw new PyError("int() result too large");
    return n;
  }
  const n = numberOf(v);
  if (!n) throw new PyError(`int() argument must be a string or a number, not '${typeName(v)}'`);
  return Math.trunc(n.n);
}

const fn = (name: string, call: (args: PyValue[], kwargs: Map<string, PyValue>) => PyValue): [string, PyFunction] => [name, new PyFunction(name, call)];
const arity = (name: string, args: PyValue[], min: number, max = min): void => {
  if (args.length < min || args.length > max) throw new PyError(`${name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? "" : "s"} (${args.length} given)`);
};

export const builtins = new Map<string, PyValue>([
  fn("str", (a) => (arity("str", a, 0, 1), a.length ? str(a[0]!) : "")),
  fn("repr", (a) => (arity("repr", a, 1), repr(a[0]!))),
  fn("int", (a) => (arity("int", a, 1, 2), toInt(a[0]!, a[1]))),
  fn("long", (a) => (arity("long", a, 1, 2), toInt(a[0]!, a[1]))),
  fn("float", (a) => {
    arity("float", a, 1);
    const v = a[0]!;
    if (typeof v === "string") {
      if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(v)) throw new PyError(`could not convert string to float: ${repr(v)}`);
      return new PyFloat(Number.parseFloat(v));
    }
    const n = numberOf(v);
    if (!n) throw new PyError(`float() argument must be a string or a number, not '${typeName(v)}'`);
    return new PyFloat(n.n);
  }),
  fn("bool", (a) => (arity("bool", a, 0, 1), a.length ? truthy(a[0]!) : false)),
  fn("len", (a) => (arity("len", a, 1), items(a[0]!, "len").length)),
  fn("list", (a) => (arity("list", a, 0, 1), a.length ? [...items(a[0]!, "list")] : [])),
  fn("tuple", (a) => (arity("tuple", a, 0, 1), new PyTuple(a.length ? [...items(a[0]!, "tuple")] : []))),
  fn("dict", (a, kw) => {
    arity("dict", a, 0, 0);
    return new PyDict(new Map([...kw].map(([k, v]) => [k, v])));
  }),
  fn("abs", (a) => {
    arity("abs", a, 1);
    const n = numberOf(a[0]!);
    if (!n) throw new PyError(`bad operand type for abs(): '${typeName(a[0]!)}'`);
    return n.float ? new PyFloat(Math.abs(n.n)) : Math.abs(n.n);
  }),
  fn("min", (a) => pick(a, "min", (x, y) => x < y)),
  fn("max", (a) => pick(a, "max", (x, y) => x > y)),
  fn("range", (a) => {
    arity("range", a, 1, 3);
    const n = a.map((x) => toInt(x));
    const [start, stop, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? 1];
    if (step === 0) throw new PyError("range() step argument must not be zero");
    const out: PyValue[] = [];
    for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.push(i);
      if (out.length > MAX_ITEMS) throw new PyError(`range() longer than ${MAX_ITEMS} items`);
    }
    return out;
  }),
  fn("open", () => {
    throw new PyError("open() is not supported in a domain config (it may not read files)");
  }),
  fn("__import__", () => {
    throw new PyError("__import__() is not supported in a domain config");
  }),
]);

function pick(args: PyValue[], name: string, better: (x: number | string, y: number | string) => boolean): PyValue {
  const list = args.length === 1 ? items(args[0]!, name) : args;
  if (list.length === 0) throw new PyError(`${name}() arg is an empty sequence`);
  let best: PyValue = list[0] as PyValue;
  for (const x of list.slice(1)) {
    const a = numberOf(x)?.n ?? (typeof x === "string" ? x : undefined);
    const b = numberOf(best)?.n ?? (typeof best === "string" ? best : undefined);
    if (a === undefined || b === undefined || typeof a !== typeof b) throw new PyError(`${name}(): cannot compare '${typeName(x)}' with '${typeName(best)}'`);
    if (better(a, b)) best = x;
  }
  return best;
}

export { dictKey };
