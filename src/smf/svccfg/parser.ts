/**
 * svccfg's grammar (svccfg.y), one command at a time. A shape the grammar does not accept is a
 * syntax error tied to its command (so the interactive mode can show that command's usage).
 */
import { type Keyword, type Token, tokenize } from "./lexer.ts";

export type Command =
  | { cmd: "empty" }
  | { cmd: "end" }
  | { cmd: "help"; topic?: Keyword }
  | { cmd: "select"; target: string }
  | { cmd: "unselect" }
  | { cmd: "list" | "listpg" | "listprop"; pattern?: string }
  | { cmd: "addpg"; name: string; type: string; flags?: string }
  | { cmd: "delpg" | "delprop"; name: string }
  | { cmd: "setprop"; name: string; type?: string; value?: string; values?: string[] }
  | { cmd: "addpropvalue"; name: string; type?: string; value: string }
  | { cmd: "delpropvalue"; name: string; pattern: string }
  | { cmd: "describe"; args: string[] }
  | { cmd: "export"; all: boolean; target: string; file?: string }
  | { cmd: "refresh" }
  | { cmd: "listsnap" }
  | { cmd: "selectsnap"; name?: string }
  | { cmd: "set"; args: string[] }
  | { cmd: "import" | "apply"; file: string; verbose?: boolean }
  | { cmd: "validate"; file?: string }
  | { cmd: "delete"; target: string; force: boolean }
  | { cmd: "revert"; snapshot?: string }
  /** A command keyword xvm's svccfg recognises but does not implement. */
  | { cmd: "unsupported"; keyword: Keyword }
  | { cmd: "unknown"; word: string }
  /** `command` is the keyword whose usage applies, if the line started with one. */
  | { cmd: "syntax-error"; command?: Keyword };

class Cursor {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }

  next(): Token | undefined {
    return this.tokens[this.at++];
  }

  /** The next token if it is a word (SCV_WORD). */
  word(): string | undefined {
    const t = this.peek();
    if (t?.kind !== "word") return undefined;
    this.at++;
    return t.text;
  }

  /** The next token if it is a word or a quoted string (the grammar's `string`). */
  string(): string | undefined {
    const t = this.peek();
    if (t?.kind !== "word" && t?.kind !== "string") return undefined;
    this.at++;
    return t.text;
  }

  /** Consumes `kind` if it is next. */
  take(kind: Token["kind"]): boolean {
    if (this.peek()?.kind !== kind) return false;
    this.at++;
    return true;
  }

  /** True if the command ends here (the terminator is the last token). */
  atEnd(): boolean {
    return this.peek()?.kind === "newline" && this.at === this.tokens.length - 1;
  }

  strings(): string[] {
    const out: string[] = [];
    for (let s = this.string(); s !== undefined; s = this.string()) out.push(s);
    return out;
  }
}

const UNSUPPORTED: ReadonlySet<Keyword> = new Set<Keyword>([
  "cleanup", "archive", "restore", "extract", "repository", "inventory",
  "add", "delhash", "editprop", "setenv", "unsetenv", "delnotify", "setnotify", "listnotify",
]);

/** Parses one assembled command (see CommandAssembler); throws LexError on an unterminated string. */
export function parseCommand(text: string): Command {
  return parseTokens(tokenize(text));
}

export function parseTokens(tokens: Token[]): Command {
  const c = new Cursor(tokens);
  const first = c.next();
  if (!first || first.kind === "newline") return c.atEnd() || tokens.length === 1 ? { cmd: "empty" } : { cmd: "syntax-error" };
  if (first.kind === "word") {
    c.strings();
    return c.atEnd() ? { cmd: "unknown", word: first.text } : { cmd: "syntax-error" };
  }
  if (first.kind !== "keyword") return { cmd: "syntax-error" };
  const kw = first.text;
  const bad: Command = { cmd: "syntax-error", command: kw };
  const done = (command: Command): Command => (c.atEnd() ? command : bad);
  switch (kw) {
    case "end":
    case "exit":
    case "quit":
      return done({ cmd: "end" });
    case "help": {
      const t = c.peek();
      if (t?.kind === "keyword") {
        c.next();
        return done({ cmd: "help", topic: t.text });
      }
      return done({ cmd: "help" });
    }
    case "select": {
      const target = c.word();
      return target === undefined ? bad : done({ cmd: "select", target });
    }
    case "unselect":
      return done({ cmd: "unselect" });
    case "list":
    case "listpg":
    case "listprop": {
      const pattern = c.word();
      return done(pattern === undefined ? { cmd: kw } : { cmd: kw, pattern });
    }
    case "addpg": {
      const name = c.word();
      const type = c.word();
      if (name === undefined || type === undefined) return bad;
      const flags = c.word();
      return done(flags === undefined ? { cmd: "addpg", name, type } : { cmd: "addpg", name, type, flags });
    }
    case "delpg":
    case "delprop": {
      const name = c.word();
      return name === undefined ? bad : done({ cmd: kw, name });
    }
    case "setprop":
      return parseSetprop(c, bad);
    case "addpropvalue": {
      const name = c.word();
      const a = c.string();
      if (name === undefined || a === undefined) return bad;
      const b = c.string();
      return done(b === undefined ? { cmd: "addpropvalue", name, value: a } : { cmd: "addpropvalue", name, type: a, value: b });
    }
    case "delpropvalue": {
      const name = c.word();
      const pattern = c.string();
      return name === undefined || pattern === undefined ? bad : done({ cmd: "delpropvalue", name, pattern });
    }
    case "describe":
      return done({ cmd: "describe", args: c.strings() });
    case "export": {
      const a = c.word();
      if (a === undefined) return bad;
      const b = c.word();
      let file: string | undefined;
      if (c.take(">")) {
        file = c.word();
        if (file === undefined) return bad;
      }
      if (b === undefined) return done({ cmd: "export", all: false, target: a, ...(file === undefined ? {} : { file }) });
      if (a !== "-a") return bad;
      return done({ cmd: "export", all: true, target: b, ...(file === undefined ? {} : { file }) });
    }
    case "refresh":
      return done({ cmd: "refresh" });
    case "listsnap":
      return done({ cmd: "listsnap" });
    case "selectsnap": {
      const name = c.word();
      return done(name === undefined ? { cmd: "selectsnap" } : { cmd: "selectsnap", name });
    }
    case "set":
      return done({ cmd: "set", args: c.strings() });
    case "import":
    case "apply": {
      // import [-V] file; apply [-n] file (-n: check only, nothing applied is not supported: syntax).
      let verbose = false;
      let file = c.word();
      if (kw === "import" && file === "-V") {
        verbose = true;
        file = c.word();
      }
      return file === undefined ? bad : done({ cmd: kw, file, ...(verbose ? { verbose } : {}) });
    }
    case "validate": {
      const file = c.word();
      return done(file === undefined ? { cmd: "validate" } : { cmd: "validate", file });
    }
    case "delete": {
      let target = c.word();
      let force = false;
      if (target === "-f") {
        force = true;
        target = c.word();
      }
      return target === undefined ? bad : done({ cmd: "delete", target, force });
    }
    case "revert": {
      const snapshot = c.word();
      return done(snapshot === undefined ? { cmd: "revert" } : { cmd: "revert", snapshot });
    }
    default:
      if (UNSUPPORTED.has(kw)) {
        // Consume the arguments these commands take, so only the command name matters.
        while (c.next()?.kind !== "newline");
        return { cmd: "unsupported", keyword: kw };
      }
      return bad;
  }
}

/**
 * setprop pg/name = value | = type: value | = [type:] ( values… ); a list may span lines (its
 * newlines arrive as tokens).
 */
function parseSetprop(c: Cursor, bad: Command): Command {
  const name = c.word();
  if (name === undefined || !c.take("=")) return bad;
  const t0 = c.peek();
  const t1 = c.peek(1);
  if (t0?.kind === "(" || (t0?.kind === "word" && t1?.kind === "(")) {
    const type = t0.kind === "word" ? c.word() : undefined;
    c.take("(");
    const values: string[] = [];
    for (;;) {
      values.push(...c.strings());
      if (!c.take("newline")) break;
    }
    if (!c.take(")") || !c.atEnd()) return bad;
    return type === undefined ? { cmd: "setprop", name, values } : { cmd: "setprop", name, type, values };
  }
  const a = c.string();
  if (a === undefined) return bad;
  if (c.atEnd()) return { cmd: "setprop", name, value: a };
  if (t0?.kind !== "word") return bad;
  const b = c.string();
  if (b === undefined || !c.atEnd()) return bad;
  return { cmd: "setprop", name, type: a, value: b };
}
