/**
 * svccfg's lexer (svccfg.l): words are runs of anything but blanks, newlines and `">=()`;
 * double-quoted strings keep their quotes but lose their backslash escapes; `=`, `(`, `)` and `>`
 * stand alone; `#` at the start of a token comments out the rest of the line. Command keywords are
 * only recognised as the first token of a command (or right after `help`).
 */

export const KEYWORDS = [
  "validate", "import", "cleanup", "export", "archive", "restore", "apply", "extract", "repository",
  "inventory", "set", "end", "exit", "quit", "help", "list", "add", "delete", "select", "unselect",
  "listpg", "addpg", "delpg", "delhash", "listprop", "setprop", "delprop", "editprop", "describe",
  "addpropvalue", "delpropvalue", "setenv", "unsetenv", "listsnap", "selectsnap", "revert", "refresh",
  "delnotify", "setnotify", "listnotify",
] as const;

export type Keyword = (typeof KEYWORDS)[number];

export function isKeyword(word: string): word is Keyword {
  return (KEYWORDS as readonly string[]).includes(word);
}

export type Token =
  | { kind: "keyword"; text: Keyword }
  | { kind: "word"; text: string }
  /** `text` keeps the surrounding double quotes, as svccfg's SCV_STRING does. */
  | { kind: "string"; text: string }
  | { kind: "=" | "(" | ")" | ">" | "newline" };

/** The lexer met a `"` that opens no complete string (svccfg dies with this message). */
export class LexError extends Error {
  constructor(readonly char: string) {
    super(`unrecognized character ${char}`);
  }
}

const DELIMITERS = new Set([" ", "\t", "\n", '"', ">", "=", "(", ")"]);

/**
 * Tokenises one command (as assembled by {@link CommandAssembler}, continuations already joined).
 * Newlines inside it (in a parenthesised list) become `newline` tokens; one is always appended.
 */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let initial = true;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    if (c === "\n") {
      tokens.push({ kind: "newline" });
      initial = true;
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if (c === "=" || c === "(" || c === ")" || c === ">") {
      tokens.push({ kind: c });
      i++;
      continue;
    }
    if (c === '"') {
      let out = '"';
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        const d = text[j]!;
        if (d === "\\" && j + 1 < text.length) {
          out += text[j + 1]!;
          j += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          break;
        }
        out += d;
        j++;
      }
      if (!closed) throw new LexError('"');
      tokens.push({ kind: "string", text: `${out}"` });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !DELIMITERS.has(text[j]!)) j++;
    const word = text.slice(i, j);
    i = j;
    if (initial && isKeyword(word)) {
      tokens.push({ kind: "keyword", text: word });
      // `help` leaves the lexer in its initial state, so `help listprop` names a command.
      initial = word === "help";
    } else {
      tokens.push({ kind: "word", text: word });
      initial = false;
    }
  }
  const last = tokens[tokens.length - 1];
  if (!last || last.kind !== "newline") tokens.push({ kind: "newline" });
  return tokens;
}

/**
 * Gathers input lines into complete commands: a command goes on while a `(` list is open, a
 * quoted string is unterminated, or a line ends with a backslash (joined to the next line without
 * the backslash and newline, as sh does). Used for files, stdin and the interactive prompt (which
 * shows `> ` while {@link pending} is true).
 */
export class CommandAssembler {
  private buffer = "";

  get pending(): boolean {
    return this.buffer !== "";
  }

  /** Adds one physical line (without its newline); returns a complete command, or undefined. */
  push(line: string): string | undefined {
    const { text, complete } = scan(`${this.buffer}${line}\n`);
    this.buffer = text;
    if (!complete) return undefined;
    this.buffer = "";
    return text;
  }

  /** At end of input: whatever is left (an unterminated string or list), if anything. */
  flush(): string | undefined {
    const rest = this.buffer;
    this.buffer = "";
    if (rest === "") return undefined;
    return rest.endsWith("\\\n") ? `${rest.slice(0, -2)}\n` : rest;
  }

  reset(): void {
    this.buffer = "";
  }
}

/**
 * Joins backslash-newline continuations (outside comments) and tells whether the text is a complete
 * command: no open string, no open `(` list, no trailing continuation.
 */
function scan(input: string): { text: string; complete: boolean } {
  let text = "";
  let parens = 0;
  let inString = false;
  let tokenStart = true;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === "\\" && input[i + 1] === "\n") {
      if (i + 2 < input.length) {
        i++;
        continue;
      }
      return { text: text + input.slice(i), complete: false };
    }
    if (inString) {
      text += c;
      if (c === "\\" && i + 1 < input.length) text += input[++i]!;
      else if (c === '"') {
        inString = false;
        tokenStart = true;
      }
      continue;
    }
    if (c === "#" && tokenStart) {
      while (i < input.length && input[i] !== "\n") text += input[i++]!;
      i--;
      continue;
    }
    text += c;
    if (c === '"') inString = true;
    else if (c === "(") parens++;
    else if (c === ")") parens--;
    tokenStart = DELIMITERS.has(c);
  }
  return { text, complete: !inString && parens <= 0 };
}
