/**
 * Statements and expressions of the config subset, parsed with Python's precedence:
 * assignments (also chained and augmented), `import`, `from … import`, `if`/`elif`/`else`, `pass`,
 * expression statements; conditional expressions, `or`/`and`/`not`, comparisons (`in`, `is`),
 * `+ - * / // % **`, calls, attributes, subscripts and slices, list/tuple/dict displays.
 * Anything else (def, for, while, lambda, …) is refused by name, at its place.
 */
import { ConfigFileError } from "./errors.ts";
import { describeChar, type Position, type Token } from "./lexer.ts";

export type Expr =
  | { k: "const"; v: null | boolean | number | string; float?: boolean; text?: string; pos: Position }
  | { k: "name"; id: string; pos: Position }
  | { k: "list" | "tuple"; items: Expr[]; pos: Position }
  | { k: "dict"; entries: [Expr, Expr][]; pos: Position }
  | { k: "unary"; op: string; arg: Expr; pos: Position }
  | { k: "binary"; op: string; left: Expr; right: Expr; pos: Position }
  | { k: "bool"; op: "and" | "or"; left: Expr; right: Expr; pos: Position }
  | { k: "compare"; first: Expr; rest: [string, Expr][]; pos: Position }
  | { k: "ifexp"; test: Expr; body: Expr; orelse: Expr; pos: Position }
  | { k: "attr"; obj: Expr; name: string; pos: Position }
  | { k: "call"; fn: Expr; args: Expr[]; kwargs: [string, Expr][]; pos: Position }
  | { k: "index"; obj: Expr; index: Expr; pos: Position }
  | { k: "slice"; obj: Expr; lower?: Expr; upper?: Expr; pos: Position };

export type Stmt =
  | { k: "assign"; targets: Expr[]; value: Expr; pos: Position }
  | { k: "augassign"; target: Expr; op: string; value: Expr; pos: Position }
  | { k: "import"; names: { module: string; as: string; pos: Position }[]; pos: Position }
  | { k: "from"; module: string; names: { name: string; as: string; pos: Position }[]; pos: Position }
  | { k: "if"; branches: { test: Expr; body: Stmt[] }[]; orelse: Stmt[]; pos: Position }
  | { k: "expr"; value: Expr; pos: Position }
  | { k: "pass"; pos: Position }
  /** `raise ValueError("…")`: how configs refused bad `var=value` arguments. */
  | { k: "raise"; value?: Expr; pos: Position };

const UNSUPPORTED_STATEMENTS: Record<string, string> = {
  def: "function definitions are", class: "classes are", for: "'for' loops are", while: "'while' loops are",
  try: "'try' blocks are", with: "'with' blocks are", lambda: "lambda is", return: "'return' is", yield: "'yield' is",
  global: "'global' is", del: "'del' is", exec: "'exec' is", assert: "'assert' is",
  print: "'print' is", break: "'break' is", continue: "'continue' is",
};
const SUBSET = "a config may use assignments, if/elif/else, import os and expressions";
const MAX_DEPTH = 100;

export function parseProgram(tokens: Token[], source: string): Stmt[] {
  let p = 0;
  let depth = 0;
  const peek = (o = 0): Token => tokens[Math.min(p + o, tokens.length - 1)]!;
  const next = (): Token => tokens[p++]!;
  const fail = (message: string, at: Position = peek().pos): never => {
    throw new ConfigFileError([{ source, line: at.line, column: at.column, message }]);
  };
  const isOp = (v: string, o = 0): boolean => {
    const t = peek(o);
    return t.t === "op" && t.v === v;
  };
  const isName = (v: string, o = 0): boolean => {
    const t = peek(o);
    return t.t === "name" && t.v === v;
  };
  const describe = (t: Token): string => {
    switch (t.t) {
      case "name": return `'${t.v}'`;
      case "number": return `the number ${t.text}`;
      case "string": return "a string";
      case "op": return `'${t.v}'`;
      case "newline": return "the end of the line";
      case "indent": return "an indented block";
      case "dedent": return "the end of a block";
      case "eof": return describeChar("");
    }
  };
  const expectOp = (v: string, what: string): Token => {
    if (!isOp(v)) fail(`expected '${v}' ${what}, found ${describe(peek())}`);
    return next();
  };
  const expectName = (what: string): Extract<Token, { t: "name" }> => {
    const t = peek();
    if (t.t !== "name") return fail(`expected ${what}, found ${describe(t)}`);
    next();
    return t;
  };

  const program = block(true);
  return program;

  function block(top: boolean): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      const t = peek();
      if (t.t === "eof") {
        if (!top) fail("expected an indented block");
        return out;
      }
      if (t.t === "dedent") {
        if (top) fail("unexpected dedent");
        next();
        return out;
      }
      if (t.t === "newline") {
        next();
        continue;
      }
      if (t.t === "indent") fail("unexpected indent");
      out.push(...statementLine());
    }
  }

  function suite(): Stmt[] {
    expectOp(":", "to start the block");
    if (peek().t !== "newline") {
      const simple = simpleStatements();
      return simple;
    }
    next();
    if (peek().t !== "indent") fail("expected an indented block");
    next();
    return block(false);
  }

  function statementLine(): Stmt[] {
    const t = peek();
    if (t.t === "name" && t.v === "if") return [ifStatement()];
    return simpleStatements();
  }

  function simpleStatements(): Stmt[] {
    const out: Stmt[] = [simpleStatement()];
    while (isOp(";")) {
      next();
      if (peek().t === "newline" || peek().t === "eof") break;
      out.push(simpleStatement());
    }
    const end = peek();
    const last = out[out.length - 1]!;
    const after = last.k === "assign" && last.targets[0]!.k === "name" ? ` after the value of '${last.targets[0]!.id}'` : "";
    if (end.t === "newline") next();
    else if (end.t !== "eof" && end.t !== "dedent") fail(`expected the end of the line${after}, found ${describe(end)}`);
    return out;
  }

  function ifStatement(): Stmt {
    const pos = next().pos;
    const branches = [{ test: expression(), body: suite() }];
    let orelse: Stmt[] = [];
    for (;;) {
      if (isName("elif")) {
        next();
        branches.push({ test: expression(), body: suite() });
      } else if (isName("else")) {
        next();
        orelse = suite();
        break;
      } else break;
    }
    return { k: "if", branches, orelse, pos };
  }

  function simpleStatement(): Stmt {
    const t = peek();
    const pos = t.pos;
    if (t.t === "name") {
      if (t.v in UNSUPPORTED_STATEMENTS) fail(`${UNSUPPORTED_STATEMENTS[t.v]} not supported in a domain config (${SUBSET})`);
      if (t.v === "pass") {
        next();
        return { k: "pass", pos };
      }
      if (t.v === "raise") {
        next();
        return { k: "raise", value: peek().t === "newline" || peek().t === "eof" ? undefined : expression(), pos };
      }
      if (t.v === "import") {
        next();
        const names: { module: string; as: string; pos: Position }[] = [];
        do {
          if (names.length > 0) next();
          const at = peek().pos;
          let module = expectName("a module name after 'import'").v;
          while (isOp(".")) {
            next();
            module += `.${expectName("a module name").v}`;
          }
          let as = module.split(".")[0]!;
          if (isName("as")) {
            next();
            as = expectName("a name after 'as'").v;
          }
          names.push({ module, as, pos: at });
        } while (isOp(","));
        return { k: "import", names, pos };
      }
      if (t.v === "from") {
        next();
        let module = expectName("a module name after 'from'").v;
        while (isOp(".")) {
          next();
          module += `.${expectName("a module name").v}`;
        }
        if (!isName("import")) fail(`expected 'import', found ${describe(peek())}`);
        next();
        const names: { name: string; as: string; pos: Position }[] = [];
        do {
          if (names.length > 0) next();
          const at = peek().pos;
          if (isOp("*")) fail("'from … import *' is not supported; import the names you use", at);
          const name = expectName("a name to import").v;
          let as = name;
          if (isName("as")) {
            next();
            as = expectName("a name after 'as'").v;
          }
          names.push({ name, as, pos: at });
        } while (isOp(","));
        return { k: "from", module, names, pos };
      }
    }
    const first = expressionList();
    if (isOp("=")) {
      const targets = [first];
      let value = first;
      while (isOp("=")) {
        next();
        if (peek().t === "newline" || peek().t === "eof") fail(`expected a value after '${value.k === "name" ? `${value.id} ` : ""}='`);
        value = expressionList();
        targets.push(value);
      }
      targets.pop();
      for (const target of targets) checkTarget(target);
      return { k: "assign", targets, value, pos };
    }
    const aug = peek();
    if (aug.t === "op" && /^(\+|-|\*|\/|\/\/|%|\*\*)=$/.test(aug.v)) {
      next();
      checkTarget(first);
      return { k: "augassign", target: first, op: aug.v.slice(0, -1), value: expressionList(), pos };
    }
    if (first.k === "name" && (peek().t === "name" || peek().t === "number" || peek().t === "string")) {
      fail(`expected '=' after '${first.id}', found ${describe(peek())}`);
    }
    return { k: "expr", value: first, pos };
  }

  function checkTarget(e: Expr): void {
    if (e.k === "name" || e.k === "index") return;
    if (e.k === "tuple" || e.k === "list") {
      for (const item of e.items) checkTarget(item);
      return;
    }
    fail("cannot assign to this: the left of '=' must be a name", e.pos);
  }

  /** `a, b` (a tuple without parentheses) or one expression. */
  function expressionList(): Expr {
    const pos = peek().pos;
    const first = expression();
    if (!isOp(",")) return first;
    const items = [first];
    while (isOp(",")) {
      next();
      if (startsExpression()) items.push(expression());
      else break;
    }
    return { k: "tuple", items, pos };
  }

  function startsExpression(): boolean {
    const t = peek();
    if (t.t === "name") return !["else", "elif", "if", "for", "in", "and", "or", "is"].includes(t.v) || t.v === "not";
    if (t.t === "number" || t.t === "string") return true;
    return t.t === "op" && ["(", "[", "{", "-", "+"].includes(t.v);
  }

  function expression(): Expr {
    if (++depth > MAX_DEPTH) fail(`expression nested deeper than ${MAX_DEPTH}`);
    try {
      if (isName("lambda")) fail(`${UNSUPPORTED_STATEMENTS.lambda} not supported in a domain config (${SUBSET})`);
      const body = orTest();
      if (isName("if")) {
        const pos = next().pos;
        const test = orTest();
        if (!isName("else")) fail(`expected 'else' in the conditional expression started at ${pos.line}:${pos.column}, found ${describe(peek())}`);
        next();
        const orelse = expression();
        return { k: "ifexp", test, body, orelse, pos: body.pos };
      }
      return body;
    } finally {
      depth--;
    }
  }

  function orTest(): Expr {
    let left = andTest();
    while (isName("or")) {
      next();
      left = { k: "bool", op: "or", left, right: andTest(), pos: left.pos };
    }
    return left;
  }

  function andTest(): Expr {
    let left = notTest();
    while (isName("and")) {
      next();
      left = { k: "bool", op: "and", left, right: notTest(), pos: left.pos };
    }
    return left;
  }

  function notTest(): Expr {
    if (isName("not")) {
      const pos = next().pos;
      return { k: "unary", op: "not", arg: notTest(), pos };
    }
    return comparison();
  }

  function comparison(): Expr {
    const first = arith();
    const rest: [string, Expr][] = [];
    for (;;) {
      const t = peek();
      let op: string | undefined;
      if (t.t === "op" && ["<", ">", "==", "!=", "<>", "<=", ">="].includes(t.v)) {
        next();
        op = t.v === "<>" ? "!=" : t.v;
      } else if (isName("in")) {
        next();
        op = "in";
      } else if (isName("not") && isName("in", 1)) {
        next();
        next();
        op = "not in";
      } else if (isName("is")) {
        next();
        op = "is";
        if (isName("not")) {
          next();
          op = "is not";
        }
      }
      if (!op) break;
      rest.push([op, arith()]);
    }
    return rest.length === 0 ? first : { k: "compare", first, rest, pos: first.pos };
  }

  function arith(): Expr {
    let left = term();
    while (isOp("+") || isOp("-")) {
      const op = (next() as { v: string }).v;
      left = { k: "binary", op, left, right: term(), pos: left.pos };
    }
    return left;
  }

  function term(): Expr {
    let left = factor();
    while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
      const op = (next() as { v: string }).v;
      left = { k: "binary", op, left, right: factor(), pos: left.pos };
    }
    return left;
  }

  function factor(): Expr {
    if (isOp("-") || isOp("+")) {
      const t = next() as { v: string; pos: Position };
      if (++depth > MAX_DEPTH) fail(`expression nested deeper than ${MAX_DEPTH}`);
      try {
        return { k: "unary", op: t.v, arg: factor(), pos: t.pos };
      } finally {
        depth--;
      }
    }
    const base = postfix();
    if (isOp("**")) {
      next();
      return { k: "binary", op: "**", left: base, right: factor(), pos: base.pos };
    }
    return base;
  }

  function postfix(): Expr {
    let e = atom();
    for (;;) {
      if (isOp(".")) {
        next();
        e = { k: "attr", obj: e, name: expectName("a name after '.'").v, pos: e.pos };
      } else if (isOp("(")) {
        const open = next().pos;
        const args: Expr[] = [];
        const kwargs: [string, Expr][] = [];
        while (!isOp(")")) {
          if (peek().t === "name" && isOp("=", 1)) {
            const key = (next() as { v: string }).v;
            next();
            kwargs.push([key, expression()]);
          } else {
            if (kwargs.length > 0) fail("a positional argument cannot follow a keyword argument");
            if (isOp("*") || isOp("**")) fail("*args and **kwargs are not supported");
            args.push(expression());
          }
          if (!isOp(",")) break;
          next();
        }
        if (!isOp(")")) fail(`expected ',' or ')' in the call opened at ${open.line}:${open.column}, found ${describe(peek())}`);
        next();
        e = { k: "call", fn: e, args, kwargs, pos: e.pos };
      } else if (isOp("[")) {
        const open = next().pos;
        let lower: Expr | undefined;
        if (!isOp(":")) lower = expression();
        if (isOp(":")) {
          next();
          const upper = isOp("]") ? undefined : expression();
          if (isOp(":")) fail("slices with a step are not supported");
          expectOp("]", `to close the '[' at ${open.line}:${open.column}`);
          e = { k: "slice", obj: e, lower, upper, pos: e.pos };
        } else {
          expectOp("]", `to close the '[' at ${open.line}:${open.column}`);
          e = { k: "index", obj: e, index: lower!, pos: e.pos };
        }
      } else return e;
    }
  }

  function atom(): Expr {
    const t = peek();
    const pos = t.pos;
    switch (t.t) {
      case "number":
        next();
        return { k: "const", v: t.v, float: t.float, text: t.text, pos };
      case "string": {
        next();
        let v = t.v;
        // Adjacent literals concatenate: 'a' "b" is 'ab'.
        while (peek().t === "string") v += (next() as { v: string }).v;
        return { k: "const", v, pos };
      }
      case "name":
        if (t.v === "True" || t.v === "False") {
          next();
          return { k: "const", v: t.v === "True", pos };
        }
        if (t.v === "None") {
          next();
          return { k: "const", v: null, pos };
        }
        if (["if", "else", "elif", "and", "or", "in", "is", "not", "import", "from", "as", "pass", "raise"].includes(t.v) || t.v in UNSUPPORTED_STATEMENTS) {
          fail(`expected a value, found the keyword '${t.v}'`);
        }
        next();
        return { k: "name", id: t.v, pos };
      case "op":
        if (t.v === "(" || t.v === "[") {
          next();
          const close = t.v === "(" ? ")" : "]";
          const items: Expr[] = [];
          let comma = false;
          while (!isOp(close)) {
            items.push(expression());
            if (isName("for")) fail("comprehensions are not supported in a domain config; write the list out");
            if (!isOp(",")) break;
            comma = true;
            next();
          }
          if (!isOp(close)) fail(`expected ',' or '${close}' in the ${t.v === "(" ? "parentheses" : "list"} opened at ${pos.line}:${pos.column}, found ${describe(peek())}`);
          next();
          if (t.v === "(" && items.length === 1 && !comma) return items[0]!;
          return { k: t.v === "(" ? "tuple" : "list", items, pos };
        }
        if (t.v === "{") {
          next();
          const entries: [Expr, Expr][] = [];
          while (!isOp("}")) {
            const key = expression();
            expectOp(":", "between a dict key and its value");
            entries.push([key, expression()]);
            if (!isOp(",")) break;
            next();
          }
          if (!isOp("}")) fail(`expected ',' or '}' in the dict opened at ${pos.line}:${pos.column}, found ${describe(peek())}`);
          next();
          return { k: "dict", entries, pos };
        }
    }
    return fail(`expected a value, found ${describe(t)}`);
  }
}
