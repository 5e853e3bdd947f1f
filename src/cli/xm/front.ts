/**
 * xm's own command-line front, run before clipanion sees an `xm …` line, so that xm answers as Xen
 * 3.4's main.py did rather than with clipanion's texts:
 *
 * - the subcommand: exact name, one of 3.4's aliases (`balloon` = `mem-set`, with 3.4's
 *   deprecation notice on stderr), or a prefix of more than one letter that only one command —
 *   of 3.4's and of ours — starts with (`xm li` = `xm list`; `xm sh` is ambiguous: shell, shutdown);
 * - the argument count, checked as 3.4's `arg_check` did (every word but `--` counts):
 *   `Error: 'xm pause' requires 1 argument.` and an empty line on stderr, the command's usage on
 *   stdout, exit 1;
 * - options the command does not have: `Error: option -x not recognized` (Python getopt's text),
 *   the usage, exit 1.
 *
 * Anything clipanion still refuses afterwards is reported the same way (see `syntaxError`).
 * `--help`/`-h` lines are left to the help command once the name is resolved.
 */
import type { Cli } from "clipanion";
import { XM34_ALIASES, XM34_ARGS, XM34_COMMANDS, cmdHelp34 } from "./xm34.ts";
import { namePlaceholders } from "../usage-text.ts";

/** xvm's extensions that 3.4's argument counts must not see. */
const EXTENSIONS = new Set(["--json"]);

interface OptionSpec {
  names: string[];
  takesValue: boolean;
}

export interface CommandSpec {
  /** Option names (`-l`, `--long`) and whether each takes a value. */
  options: OptionSpec[];
  /** The clipanion usage line, `xvm xm list [-l,--long] ...`. */
  usage: string;
  description: string;
}

export interface FrontResult {
  /** The command line to run (without `xm`), when it passed. */
  args?: string[];
  /** Set when xm is done: the exit status. */
  exit?: number;
  stdout: string;
  stderr: string;
  /** The resolved subcommand, when there is one. */
  command?: string;
}

/** The xm subcommands registered with clipanion (plugins' included), with their options. */
export function xmCommandSpecs(cli: Pick<Cli, "definitions">): Map<string, CommandSpec> {
  const specs = new Map<string, CommandSpec>();
  for (const def of cli.definitions()) {
    const m = /^\S+ xm ([a-z][a-z0-9-]*)$/.exec(def.path);
    if (!m || specs.has(m[1]!)) continue;
    specs.set(m[1]!, {
      options: def.options.map((o) => ({ names: o.nameSet, takesValue: /\s#\d/.test(o.definition) })),
      usage: namePlaceholders(def.usage),
      description: def.description ?? "",
    });
  }
  return specs;
}

/** What 3.4's `usage(cmd)` printed: its own help text, or ours for a command 3.4 did not have. */
export function usageText(cmd: string, spec: CommandSpec | undefined): string {
  const own = cmdHelp34(cmd);
  if (own) return own;
  const args = spec ? spec.usage.replace(/^\S+ xm \S+ ?/, "") : "";
  const d = (spec?.description ?? "").trim();
  const desc = d ? `${d[0]!.toUpperCase()}${d.slice(1)}${/[.!?]$/.test(d) ? "" : "."}` : "";
  return `Usage: xm ${cmd}${args ? ` ${args}` : ""}\n\n${desc}\n`;
}

/** Resolves a subcommand word as 3.4's `xm_lookup_cmd` did; undefined when none (or ambiguous). */
export function lookup(word: string, registered: ReadonlySet<string>): { name: string; deprecated?: string } | undefined {
  if (registered.has(word)) return { name: word };
  const alias = XM34_ALIASES[word];
  if (alias !== undefined) {
    return registered.has(alias) ? { name: alias, deprecated: `Command ${word} is deprecated.  Please use xm ${alias} instead.\n` } : undefined;
  }
  if (word.length > 1) {
    const all = new Set([...XM34_COMMANDS, ...registered]);
    const matches = [...all].filter((c) => c.startsWith(word));
    if (matches.length === 1 && registered.has(matches[0]!)) return { name: matches[0]! };
  }
  return undefined;
}

/** The first option `words` use that `spec` does not have (getopt's message), if any. */
export function unknownOption(words: readonly string[], spec: CommandSpec): string | undefined {
  const find = (name: string) => spec.options.find((o) => o.names.includes(name));
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") break;
    if (!w.startsWith("-") || w === "-" || w === "--help" || w === "-h") continue;
    if (w.startsWith("--")) {
      const eq = w.indexOf("=");
      const name = eq < 0 ? w : w.slice(0, eq);
      const o = find(name);
      if (!o) return `option ${name} not recognized`;
      if (o.takesValue && eq < 0) {
        if (i + 1 >= words.length) return `option ${name} requires argument`;
        i++;
      }
      if (!o.takesValue && eq >= 0) return `option ${name} must not have an argument`;
      continue;
    }
    for (let j = 1; j < w.length; j++) {
      const name = `-${w[j]}`;
      const o = find(name);
      if (!o) return `option ${name} not recognized`;
      if (o.takesValue) {
        if (j + 1 === w.length) {
          if (i + 1 >= words.length) return `option ${name} requires argument`;
          i++;
        }
        break;
      }
    }
  }
  return undefined;
}

/**
 * Getopt takes the word after an option that wants a value as that value, even when it starts with
 * a dash (`-c -1`); clipanion would read it as an option. Such pairs become `--long=value`.
 */
export function attachDashValues(words: readonly string[], spec: CommandSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      out.push(...words.slice(i));
      break;
    }
    const next = words[i + 1];
    const o = /^(-[^-]|--[^=]+)$/.test(w) ? spec.options.find((x) => x.names.includes(w)) : undefined;
    if (o?.takesValue && next !== undefined && next.startsWith("-")) {
      const long = o.names.find((n) => n.startsWith("--")) ?? w;
      out.push(`${long}=${next}`);
      i++;
      continue;
    }
    out.push(w);
  }
  return out;
}

/** The operands of `words` (what is neither an option nor an option's value). */
function operands(words: readonly string[], spec: CommandSpec | undefined): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--") {
      out.push(...words.slice(i + 1));
      break;
    }
    if (!w.startsWith("-") || w === "-") {
      out.push(w);
      continue;
    }
    const name = w.startsWith("--") ? w.split("=")[0]! : `-${w[w.length - 1]}`;
    const o = spec?.options.find((x) => x.names.includes(name));
    if (o?.takesValue && !w.includes("=") && (w.startsWith("--") || w.length === 2)) i++;
  }
  return out;
}

/** Runs xm's checks on `words` (the command line after `xm`). */
export function xmFront(words: readonly string[], specs: ReadonlyMap<string, CommandSpec>): FrontResult {
  const [first, ...rest] = words;
  const pass: FrontResult = { args: [...words], stdout: "", stderr: "" };
  if (first === undefined || first.startsWith("-") || first === "help") return pass;
  const found = lookup(first, new Set(specs.keys()));
  if (!found) return pass;
  const cmd = found.name;
  const spec = specs.get(cmd);
  const stderr = found.deprecated ?? "";
  const args = [cmd, ...rest];
  if (rest.includes("--help") || rest.includes("-h")) return { args, stdout: "", stderr, command: cmd };
  const fail = (err: string, out = ""): FrontResult => ({ exit: 1, stdout: out + usageText(cmd, spec), stderr: stderr + err, command: cmd });

  const counted = rest.filter((w) => !EXTENSIONS.has(w));
  const rule = XM34_ARGS[cmd];
  if (rule?.kind === "arity") {
    const n = counted.filter((w) => w !== "--").length;
    const hi = rule.hi ?? rule.lo;
    if (n < rule.lo || n > hi) {
      const text = rule.hi === undefined
        ? `'xm ${cmd}' requires ${rule.lo} argument${rule.lo === 1 ? "" : "s"}.`
        : `'xm ${cmd}' requires between ${rule.lo} and ${rule.hi} arguments.`;
      return fail(`Error: ${text}\n\n`);
    }
  }
  if (spec) {
    const bad = unknownOption(rest, spec);
    if (bad) return fail(`Error: ${bad}\n`);
  }
  if (rule?.kind === "resource-list") {
    const ops = operands(counted, spec);
    if (ops.length === 0) return fail("", "No domain parameter given\n");
    if (ops.length > 1) return fail("", "No multiple domain parameters allowed\n");
  }
  if (rule?.kind === "params") {
    const n = operands(counted, spec).length;
    if (n < rule.lo || n > rule.hi) {
      const r = fail(`Error: ${rule.message}\n`);
      return { ...r, stdout: `${r.stdout}\n` };
    }
  }
  return { args: spec ? [cmd, ...attachDashValues(rest, spec)] : args, stdout: "", stderr, command: cmd };
}

/**
 * A clipanion syntax error on an xm line, reported as xm reported getopt errors: `Error: <message>`
 * on stderr; returns the usage for stdout. Undefined when `error` is not a syntax error.
 */
export function syntaxError(error: unknown, cmd: string, specs: ReadonlyMap<string, CommandSpec>): { stderr: string; stdout: string } | undefined {
  const e = error as { name?: string; message?: string };
  if (e?.name !== "UnknownSyntaxError" && e?.name !== "UsageError" && e?.name !== "AmbiguousSyntaxError") return undefined;
  let message = (e.message ?? "").split("\n")[0]!.trim();
  const m = /^Unsupported option name \("(.+)"\)\.$/.exec(message);
  if (m) message = `option ${m[1]} not recognized`;
  const n = /^Not enough arguments to option (\S+)\.$/.exec(message);
  if (n) message = `option ${n[1]} requires argument`;
  if (/^Command not found/.test(message) || message === "") message = "Invalid argument.";
  return { stderr: `Error: ${message}\n`, stdout: usageText(cmd, specs.get(cmd)) };
}
