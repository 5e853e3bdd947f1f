import { describe, expect, it } from "vitest";
import { CommandAssembler, LexError, tokenize } from "../../src/smf/svccfg/lexer.ts";
import { parseCommand } from "../../src/smf/svccfg/parser.ts";

/** Feeds lines to an assembler and returns the complete commands it produced. */
function assemble(lines: string[]): { commands: string[]; rest?: string } {
  const a = new CommandAssembler();
  const commands: string[] = [];
  for (const l of lines) {
    const c = a.push(l);
    if (c !== undefined) commands.push(c);
  }
  const rest = a.flush();
  return rest === undefined ? { commands } : { commands, rest };
}

describe("svccfg lexer", () => {
  it("splits words, strings and operators; keeps string quotes, drops their escapes", () => {
    expect(tokenize('setprop config/x = astring: "a \\"b\\" \\\\c"')).toEqual([
      { kind: "keyword", text: "setprop" },
      { kind: "word", text: "config/x" },
      { kind: "=" },
      { kind: "word", text: "astring:" },
      { kind: "string", text: '"a "b" \\c"' },
      { kind: "newline" },
    ]);
  });
  it("ends words at blanks and at \" > = ( )", () => {
    expect(tokenize("a=b(c)d>e\"f\"").map((t) => ("text" in t ? t.text : t.kind))).toEqual([
      "a", "=", "b", "(", "c", ")", "d", ">", "e", '"f"', "newline",
    ]);
  });
  it("keeps ':' and other punctuation inside words (astring:bar is one word)", () => {
    expect(tokenize("x astring:bar ^flax$ a,b")).toEqual([
      { kind: "word", text: "x" }, { kind: "word", text: "astring:bar" }, { kind: "word", text: "^flax$" },
      { kind: "word", text: "a,b" }, { kind: "newline" },
    ]);
  });
  it("recognises command keywords only first on a line (and after help)", () => {
    expect(tokenize("listprop listprop")).toEqual([
      { kind: "keyword", text: "listprop" }, { kind: "word", text: "listprop" }, { kind: "newline" },
    ]);
    expect(tokenize("help setprop")).toEqual([{ kind: "keyword", text: "help" }, { kind: "keyword", text: "setprop" }, { kind: "newline" }]);
    expect(tokenize("listpropx")).toEqual([{ kind: "word", text: "listpropx" }, { kind: "newline" }]);
  });
  it("treats # at the start of a token as a comment to the end of the line", () => {
    expect(tokenize("listprop # all of it")).toEqual([{ kind: "keyword", text: "listprop" }, { kind: "newline" }]);
    expect(tokenize("select a#b")).toEqual([{ kind: "keyword", text: "select" }, { kind: "word", text: "a#b" }, { kind: "newline" }]);
  });
  it("dies on an unterminated string", () => {
    expect(() => tokenize('setprop a/b = "abc')).toThrow(LexError);
    expect(() => tokenize('setprop a/b = "abc')).toThrow('unrecognized character "');
  });
});

describe("command assembly (continuations, lists, strings)", () => {
  it("passes complete lines through", () => {
    expect(assemble(["listprop", "", "end"]).commands).toEqual(["listprop\n", "\n", "end\n"]);
  });
  it("joins a trailing backslash with the next line (the manual's Example 2)", () => {
    const r = assemble(["setprop config/xend-relocation-hosts-allow = \\", '"^flax$ ^localhost$"', "end"]);
    expect(r.commands).toEqual(['setprop config/xend-relocation-hosts-allow = "^flax$ ^localhost$"\n', "end\n"]);
  });
  it("joins several continuations and words split by one", () => {
    expect(assemble(["setprop a/b \\", "= \\", "in\\", "teger: 5"]).commands).toEqual(["setprop a/b = integer: 5\n"]);
  });
  it("keeps a value list open across lines until its ')'", () => {
    const a = new CommandAssembler();
    expect(a.push("setprop a/b = astring: (")).toBeUndefined();
    expect(a.pending).toBe(true);
    expect(a.push('"x"')).toBeUndefined();
    expect(a.push('"y" )')).toBe('setprop a/b = astring: (\n"x"\n"y" )\n');
    expect(a.pending).toBe(false);
  });
  it("keeps a quoted string open across lines, and ignores parentheses inside it or in comments", () => {
    expect(assemble(['setprop a/b = "one', 'two"']).commands).toEqual(['setprop a/b = "one\ntwo"\n']);
    expect(assemble(['setprop a/b = "(("']).commands).toEqual(['setprop a/b = "(("\n']);
    expect(assemble(["listprop # (not a list", "end"]).commands).toEqual(["listprop # (not a list\n", "end\n"]);
  });
  it("does not continue a comment with a trailing backslash", () => {
    expect(assemble(["# note \\", "listprop"]).commands).toEqual(["# note \\\n", "listprop\n"]);
  });
  it("hands back an unfinished command at end of input", () => {
    expect(assemble(["setprop a/b = \\"])).toEqual({ commands: [], rest: "setprop a/b = \n" });
    expect(assemble(['setprop a/b = "abc'])).toEqual({ commands: [], rest: 'setprop a/b = "abc\n' });
  });
});

describe("svccfg grammar", () => {
  it("parses the three setprop forms", () => {
    expect(parseCommand("setprop config/dom0-cpus = 1\n")).toEqual({ cmd: "setprop", name: "config/dom0-cpus", value: "1" });
    expect(parseCommand('setprop config/a = ""\n')).toEqual({ cmd: "setprop", name: "config/a", value: '""' });
    expect(parseCommand("setprop config/a = integer: 1\n")).toEqual({ cmd: "setprop", name: "config/a", type: "integer:", value: "1" });
    expect(parseCommand('setprop config/a = astring: "x y"\n')).toEqual({ cmd: "setprop", name: "config/a", type: "astring:", value: '"x y"' });
    expect(parseCommand('setprop config/a = astring: ("x" "y")\n')).toEqual({ cmd: "setprop", name: "config/a", type: "astring:", values: ['"x"', '"y"'] });
    expect(parseCommand("setprop config/a = (1 2)\n")).toEqual({ cmd: "setprop", name: "config/a", values: ["1", "2"] });
    expect(parseCommand("setprop config/a = ()\n")).toEqual({ cmd: "setprop", name: "config/a", values: [] });
    expect(parseCommand('setprop a/b = astring: (\n"x"\n"y" )\n')).toEqual({ cmd: "setprop", name: "a/b", type: "astring:", values: ['"x"', '"y"'] });
  });
  it("reads 'astring:bar' as a plain value and two words as type and value", () => {
    expect(parseCommand("setprop a/b = astring:bar\n")).toEqual({ cmd: "setprop", name: "a/b", value: "astring:bar" });
    expect(parseCommand("setprop a/b = foo bar\n")).toEqual({ cmd: "setprop", name: "a/b", type: "foo", value: "bar" });
  });
  it("rejects other setprop shapes as syntax errors of setprop", () => {
    for (const bad of ["setprop\n", "setprop a/b\n", "setprop a/b =\n", "setprop a/b = 1 2 3\n", 'setprop a/b = "x" y\n', "setprop = 1\n", "setprop a/b = (1\n2\n", "setprop a/b = (1) 2\n"]) {
      expect(parseCommand(bad)).toEqual({ cmd: "syntax-error", command: "setprop" });
    }
  });
  it("parses the other commands", () => {
    expect(parseCommand("select svc:/system/xvm/xend:default\n")).toEqual({ cmd: "select", target: "svc:/system/xvm/xend:default" });
    expect(parseCommand("unselect\n")).toEqual({ cmd: "unselect" });
    expect(parseCommand("list\n")).toEqual({ cmd: "list" });
    expect(parseCommand("listprop config/*\n")).toEqual({ cmd: "listprop", pattern: "config/*" });
    expect(parseCommand("listpg\n")).toEqual({ cmd: "listpg" });
    expect(parseCommand("addpg foo application P\n")).toEqual({ cmd: "addpg", name: "foo", type: "application", flags: "P" });
    expect(parseCommand("delpg foo\n")).toEqual({ cmd: "delpg", name: "foo" });
    expect(parseCommand("delprop foo/bar\n")).toEqual({ cmd: "delprop", name: "foo/bar" });
    expect(parseCommand("addpropvalue a/b integer: 3\n")).toEqual({ cmd: "addpropvalue", name: "a/b", type: "integer:", value: "3" });
    expect(parseCommand('delpropvalue a/b "x*"\n')).toEqual({ cmd: "delpropvalue", name: "a/b", pattern: '"x*"' });
    expect(parseCommand("describe -v config\n")).toEqual({ cmd: "describe", args: ["-v", "config"] });
    expect(parseCommand("export xend > /tmp/x.xml\n")).toEqual({ cmd: "export", all: false, target: "xend", file: "/tmp/x.xml" });
    expect(parseCommand("export -a xend\n")).toEqual({ cmd: "export", all: true, target: "xend" });
    expect(parseCommand("refresh\n")).toEqual({ cmd: "refresh" });
    expect(parseCommand("listsnap\n")).toEqual({ cmd: "listsnap" });
    expect(parseCommand("selectsnap running\n")).toEqual({ cmd: "selectsnap", name: "running" });
    expect(parseCommand("help\n")).toEqual({ cmd: "help" });
    expect(parseCommand("help listprop\n")).toEqual({ cmd: "help", topic: "listprop" });
    for (const w of ["end", "exit", "quit"]) expect(parseCommand(`${w}\n`)).toEqual({ cmd: "end" });
    expect(parseCommand("\n")).toEqual({ cmd: "empty" });
    expect(parseCommand("# just a comment\n")).toEqual({ cmd: "empty" });
  });
  it("sorts unknown commands from syntax errors", () => {
    expect(parseCommand("frobnicate\n")).toEqual({ cmd: "unknown", word: "frobnicate" });
    expect(parseCommand('frobnicate a "b"\n')).toEqual({ cmd: "unknown", word: "frobnicate" });
    expect(parseCommand("frobnicate = x\n")).toEqual({ cmd: "syntax-error" });
    expect(parseCommand("= x\n")).toEqual({ cmd: "syntax-error" });
    expect(parseCommand("select\n")).toEqual({ cmd: "syntax-error", command: "select" });
    expect(parseCommand('select "x"\n')).toEqual({ cmd: "syntax-error", command: "select" });
    expect(parseCommand("end now\n")).toEqual({ cmd: "syntax-error", command: "end" });
    expect(parseCommand("help nothing\n")).toEqual({ cmd: "syntax-error", command: "help" });
    expect(parseCommand("archive -a\n")).toEqual({ cmd: "unsupported", keyword: "archive" });
  });
});
