/**
 * Runs a parsed config the way xm's create.py exec'd it, but as a small interpreter: no Python
 * process, no file or network access beyond `os.path.exists`-style checks, bounded sizes, and
 * every failure as `file:line:column: message`. The result is the list of module-level
 * assignments in the order they ran, which config-parser.ts turns into a domain config.
 */
import { ConfigFileError } from "./errors.ts";
import type { Position } from "./lexer.ts";
import type { Expr, Stmt } from "./parser.ts";
import { hostModules, type HostAccess } from "./modules.ts";
import { attribute } from "./methods.ts";
import {
  MAX_ITEMS, MAX_STRING, PyDict, PyError, PyFloat, PyFunction, PyModule, PyTuple, dictKey, equal, formatPercent, makeNumber,
  numberOf, repr, str, truthy, typeName, type PyValue,
} from "./values.ts";
import { builtins } from "./builtins.ts";

export interface Assignment {
  name: string;
  value: PyValue;
  keyPos: Position;
  valuePos: Position;
  /** Positions of the items when the value was written as a list display. */
  itemPos?: Position[];
  /** Set inside an if-branch or by `+=`: re-setting such a name is ordinary, not a mistake to warn about. */
  conditional: boolean;
}

export interface Evaluation {
  assignments: Assignment[];
  /** Names the config reads: helper variables, not settings xm ignored. */
  read: Set<string>;
}

export function evaluateProgram(program: Stmt[], source: string, vars: ReadonlyMap<string, PyValue>, host: HostAccess): Evaluation {
  const globals = new Map<string, PyValue>(vars);
  const assignments: Assignment[] = [];
  const read = new Set<string>();
  const modules = hostModules(host);
  const fail = (message: string, at: Position): never => {
    throw new ConfigFileError([{ source, line: at.line, column: at.column, message }]);
  };

  runBlock(program, false);
  return { assignments, read };

  function runBlock(stmts: Stmt[], conditional: boolean): void {
    for (const s of stmts) run(s, conditional);
  }

  function run(s: Stmt, conditional: boolean): void {
    switch (s.k) {
      case "pass":
        return;
      case "raise": {
        // Exception classes are not values here: `raise ValueError("x")` reads as its name and message.
        const v = s.value;
        if (!v) return fail("the config raised an exception", s.pos);
        if (v.k === "call" && v.fn.k === "name" && !globals.has(v.fn.id) && !builtins.has(v.fn.id)) {
          const message = v.args.length > 0 ? str(evaluate(v.args[0]!)) : "";
          return fail(`the config raised ${v.fn.id}${message ? `: ${message}` : ""}`, s.pos);
        }
        return fail(`the config raised ${str(evaluate(v))}`, s.pos);
      }
      case "expr":
        evaluate(s.value);
        return;
      case "import":
        for (const n of s.names) {
          const top = n.module.split(".")[0]!;
          const module = modules.get(n.as === top ? top : n.module);
          if (!module || !modules.has(n.module)) fail(`import ${n.module}: only ${[...modules.keys()].join(", ")} can be imported in a domain config`, n.pos);
          globals.set(n.as, module!);
        }
        return;
      case "from": {
        const module = modules.get(s.module);
        if (!module) return fail(`from ${s.module} import …: only ${[...modules.keys()].join(", ")} can be imported in a domain config`, s.pos);
        for (const n of s.names) {
          if (!module.attrs.has(n.name)) fail(`cannot import name '${n.name}' from ${s.module}`, n.pos);
          globals.set(n.as, module.attrs.get(n.name)!);
        }
        return;
      }
      case "if": {
        for (const branch of s.branches) {
          if (truthy(evaluate(branch.test))) {
            runBlock(branch.body, true);
            return;
          }
        }
        runBlock(s.orelse, true);
        return;
      }
      case "assign": {
        const value = evaluate(s.value);
        for (const target of s.targets) assign(target, value, s.value, conditional);
        return;
      }
      case "augassign": {
        const current = evaluate(s.target);
        const value = binary(s.op, current, evaluate(s.value), s.pos);
        assign(s.target, value, s.value, true);
        return;
      }
    }
  }

  function assign(target: Expr, value: PyValue, valueExpr: Expr, conditional: boolean): void {
    if (target.k === "name") {
      globals.set(target.id, value);
      assignments.push({
        name: target.id, value, keyPos: target.pos, valuePos: valueExpr.pos, conditional,
        itemPos: valueExpr.k === "list" || valueExpr.k === "tuple" ? valueExpr.items.map((i) => i.pos) : undefined,
      });
      return;
    }
    if (target.k === "tuple" || target.k === "list") {
      const items = Array.isArray(value) ? value : value instanceof PyTuple ? value.items : typeof value === "string" ? [...value] : undefined;
      if (!items) return fail(`cannot unpack ${typeName(value)}`, valueExpr.pos);
      if (items.length !== target.items.length) fail(`expected ${target.items.length} values to unpack, got ${items.length}`, valueExpr.pos);
      target.items.forEach((t, i) => assign(t, items[i]!, t.k === "name" && (valueExpr.k === "tuple" || valueExpr.k === "list") ? valueExpr.items[i]! : valueExpr, conditional));
      return;
    }
    if (target.k === "index") {
      const obj = evaluate(target.obj);
      const index = evaluate(target.index);
      if (Array.isArray(obj)) {
        const i = listIndex(obj.length, index, target.index.pos);
        obj[i] = value;
      } else if (obj instanceof PyDict) {
        guard(() => obj.map.set(dictKey(index), value), target.pos);
        if (obj.map.size > MAX_ITEMS) fail(`more than ${MAX_ITEMS} items`, target.pos);
      } else fail(`'${typeName(obj)}' object does not support item assignment`, target.pos);
      return;
    }
    fail("cannot assign to this", target.pos);
  }

  function guard<T>(f: () => T, at: Position): T {
    try {
      return f();
    } catch (error) {
      if (error instanceof PyError) return fail(error.message, at);
      throw error;
    }
  }

  function listIndex(length: number, index: PyValue, at: Position): number {
    const n = numberOf(index);
    if (!n || n.float) return fail(`indices must be integers, not ${typeName(index)}`, at);
    const i = n.n < 0 ? length + n.n : n.n;
    if (i < 0 || i >= length) fail("index out of range", at);
    return i;
  }

  function evaluate(e: Expr): PyValue {
    switch (e.k) {
      case "const":
        if (typeof e.v === "number") return e.float ? new PyFloat(e.v) : e.v;
        return e.v;
      case "name": {
        read.add(e.id);
        if (globals.has(e.id)) return globals.get(e.id)!;
        if (builtins.has(e.id)) return builtins.get(e.id)!;
        if (modules.has(e.id)) return fail(`name '${e.id}' is not defined: add 'import ${e.id}' before using it`, e.pos);
        return fail(`name '${e.id}' is not defined; put text in quotes ('${e.id}')`, e.pos);
      }
      case "list":
      case "tuple": {
        const items = e.items.map(evaluate);
        return e.k === "list" ? items : new PyTuple(items);
      }
      case "dict": {
        const d = new PyDict();
        for (const [k, v] of e.entries) {
          const key = evaluate(k);
          guard(() => d.map.set(dictKey(key), evaluate(v)), k.pos);
        }
        return d;
      }
      case "unary": {
        const v = evaluate(e.arg);
        if (e.op === "not") return !truthy(v);
        const n = numberOf(v);
        if (!n) return fail(`bad operand type for unary ${e.op}: '${typeName(v)}'`, e.pos);
        return makeNumber(e.op === "-" ? -n.n : n.n, n.float);
      }
      case "bool": {
        const left = evaluate(e.left);
        if (e.op === "and") return truthy(left) ? evaluate(e.right) : left;
        return truthy(left) ? left : evaluate(e.right);
      }
      case "ifexp":
        return truthy(evaluate(e.test)) ? evaluate(e.body) : evaluate(e.orelse);
      case "binary":
        return binary(e.op, evaluate(e.left), evaluate(e.right), e.right.pos);
      case "compare": {
        let left = evaluate(e.first);
        for (const [op, rightExpr] of e.rest) {
          const right = evaluate(rightExpr);
          if (!guard(() => compare(op, left, right), rightExpr.pos)) return false;
          left = right;
        }
        return true;
      }
      case "attr": {
        const obj = evaluate(e.obj);
        if (obj instanceof PyModule) {
          if (!obj.attrs.has(e.name)) return fail(`module '${obj.name}' has no attribute '${e.name}' usable in a domain config`, e.pos);
          return obj.attrs.get(e.name)!;
        }
        const method = attribute(obj, e.name);
        if (!method) return fail(`'${typeName(obj)}' object has no attribute '${e.name}'`, e.pos);
        return method;
      }
      case "call": {
        const fn = evaluate(e.fn);
        if (!(fn instanceof PyFunction)) return fail(`'${typeName(fn)}' object is not callable`, e.pos);
        const args = e.args.map(evaluate);
        const kwargs = new Map(e.kwargs.map(([k, v]) => [k, evaluate(v)] as const));
        const result = guard(() => fn.call(args, kwargs), e.pos);
        checkSize(result, e.pos);
        return result;
      }
      case "index": {
        const obj = evaluate(e.obj);
        const index = evaluate(e.index);
        if (Array.isArray(obj)) return obj[listIndex(obj.length, index, e.index.pos)]!;
        if (obj instanceof PyTuple) return obj.items[listIndex(obj.items.length, index, e.index.pos)]!;
        if (typeof obj === "string") return obj[listIndex(obj.length, index, e.index.pos)]!;
        if (obj instanceof PyDict) {
          const key = guard(() => dictKey(index), e.index.pos);
          if (!obj.map.has(key)) return fail(`KeyError: ${repr(index)}`, e.index.pos);
          return obj.map.get(key)!;
        }
        return fail(`'${typeName(obj)}' object is not subscriptable`, e.pos);
      }
      case "slice": {
        const obj = evaluate(e.obj);
        const bound = (x: Expr | undefined, length: number, fallback: number): number => {
          if (!x) return fallback;
          const v = evaluate(x);
          const n = numberOf(v);
          if (!n || n.float) return fail(`slice indices must be integers, not ${typeName(v)}`, x.pos);
          const i = n.n < 0 ? length + n.n : n.n;
          return Math.min(Math.max(i, 0), length);
        };
        if (Array.isArray(obj) || typeof obj === "string") {
          return obj.slice(bound(e.lower, obj.length, 0), bound(e.upper, obj.length, obj.length));
        }
        if (obj instanceof PyTuple) return new PyTuple(obj.items.slice(bound(e.lower, obj.items.length, 0), bound(e.upper, obj.items.length, obj.items.length)));
        return fail(`'${typeName(obj)}' object is not subscriptable`, e.pos);
      }
    }
  }

  function checkSize(v: PyValue, at: Position): void {
    if (typeof v === "string" && v.length > MAX_STRING) fail(`string longer than ${MAX_STRING} characters`, at);
    if (Array.isArray(v) && v.length > MAX_ITEMS) fail(`list longer than ${MAX_ITEMS} items`, at);
  }

  function binary(op: string, a: PyValue, b: PyValue, at: Position): PyValue {
    const result = guard(() => arithmetic(op, a, b), at);
    checkSize(result, at);
    return result;
  }
}

function arithmetic(op: string, a: PyValue, b: PyValue): PyValue {
  const na = numberOf(a);
  const nb = numberOf(b);
  const unsupported = (): never => {
    throw new PyError(`unsupported operand types for ${op}: '${typeName(a)}' and '${typeName(b)}'`);
  };
  if (op === "%" && typeof a === "string") return formatPercent(a, b);
  if (na && nb) {
    const float = na.float || nb.float;
    const x = na.n;
    const y = nb.n;
    switch (op) {
      case "+": return makeNumber(x + y, float);
      case "-": return makeNumber(x - y, float);
      case "*": return makeNumber(x * y, float);
      case "/":
        if (y === 0) throw new PyError("ZeroDivisionError: division by zero");
        return float ? new PyFloat(x / y) : Math.floor(x / y); // Python 2: int / int floors
      case "//":
        if (y === 0) throw new PyError("ZeroDivisionError: division by zero");
        return makeNumber(Math.floor(x / y), float);
      case "%":
        if (y === 0) throw new PyError("ZeroDivisionError: modulo by zero");
        return makeNumber(x - y * Math.floor(x / y), float);
      case "**":
        if (!float && y < 0) return new PyFloat(x ** y);
        return makeNumber(x ** y, float);
    }
  }
  if (op === "+") {
    if (typeof a === "string" && typeof b === "string") return a + b;
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (a instanceof PyTuple && b instanceof PyTuple) return new PyTuple([...a.items, ...b.items]);
    if (typeof a === "string" || typeof b === "string") {
      throw new PyError(`cannot concatenate '${typeName(a)}' and '${typeName(b)}' objects (use str() or '%s' % …)`);
    }
  }
  if (op === "*") {
    const [seq, count] = nb && !nb.float ? [a, nb.n] : na && !na.float ? [b, na.n] : [undefined, 0];
    const times = Math.max(0, count);
    const length = typeof seq === "string" ? seq.length : Array.isArray(seq) ? seq.length : seq instanceof PyTuple ? seq.items.length : -1;
    if (length >= 0) {
      if (length * times > (typeof seq === "string" ? MAX_STRING : MAX_ITEMS)) throw new PyError("the repeated sequence is too long");
      if (typeof seq === "string") return seq.repeat(times);
      const items = Array.isArray(seq) ? seq : (seq as PyTuple).items;
      const out: PyValue[] = [];
      for (let i = 0; i < times; i++) out.push(...items);
      return Array.isArray(seq) ? out : new PyTuple(out);
    }
  }
  return unsupported();
}

function compare(op: string, a: PyValue, b: PyValue): boolean {
  switch (op) {
    case "==": return equal(a, b);
    case "!=": return !equal(a, b);
    case "is": return a === b || (a === null && b === null);
    case "is not": return !(a === b || (a === null && b === null));
    case "in":
    case "not in": {
      let found: boolean;
      if (typeof b === "string") {
        if (typeof a !== "string") throw new PyError(`'in <string>' requires string as left operand, not ${typeName(a)}`);
        found = b.includes(a);
      } else if (Array.isArray(b)) found = b.some((x) => equal(x, a));
      else if (b instanceof PyTuple) found = b.items.some((x) => equal(x, a));
      else if (b instanceof PyDict) found = b.map.has(dictKey(a));
      else throw new PyError(`argument of type '${typeName(b)}' is not iterable`);
      return op === "in" ? found : !found;
    }
  }
  const na = numberOf(a);
  const nb = numberOf(b);
  let order: number;
  if (na && nb) order = na.n - nb.n;
  else if (typeof a === "string" && typeof b === "string") order = a < b ? -1 : a > b ? 1 : 0;
  else throw new PyError(`cannot compare '${typeName(a)}' with '${typeName(b)}'`);
  switch (op) {
    case "<": return order < 0;
    case ">": return order > 0;
    case "<=": return order <= 0;
    default: return order >= 0;
  }
}

export { str };
