/**
 * The shape of a parsed xm config file: one entry per setting, with the value and where it was
 * written. xm exec'd these files as Python; pyconfig/ evaluates the subset real configs use
 * (assignments, if/else, import os, `%` formatting, lists, tuples, dicts …) and reports anything
 * else as `file:line:column: message`. Command-line `var=value` arguments are variables the file
 * can read (`name = "vm%d" % vmid`) and settings that win over the file, as with xm.
 */
import { ConfigFileError, configValueOf, literalValue, runConfig, type PyValue } from "./pyconfig/index.ts";
import type { Position } from "./pyconfig/lexer.ts";

export { ConfigFileError, formatDiagnostic, type Diagnostic } from "./pyconfig/index.ts";
export type { Position };

export type ConfigValue =
  | { kind: "string"; value: string; pos: Position }
  | { kind: "number"; value: number; text: string; pos: Position }
  | { kind: "list"; items: ConfigValue[]; pos: Position }
  /** A dict, a module, … : a value no setting can take (named in the error if a setting gets it). */
  | { kind: "other"; type: string; pos: Position };

export interface ConfigEntry {
  key: string;
  keyPos: Position;
  value: ConfigValue;
  /** Where the entry came from when not the file itself (a command-line `var=value`). */
  source?: string;
  /** Set in an if-branch or by `+=`: setting it again is ordinary Python, not a slip. */
  conditional?: boolean;
  /** Raw value, for defining a command-line `var=value` as a variable of the file. */
  raw?: PyValue;
}

/** Parses and runs a whole file; throws {@link ConfigFileError} at the first problem. */
export function parseConfigText(text: string, source: string, vars?: ReadonlyMap<string, PyValue>): ConfigEntry[] {
  return runConfig(text, source, vars).entries;
}

/** Like {@link parseConfigText}, also telling which names the file reads. */
export { runConfig };

/**
 * Parses a command-line `var=value`. The value is a Python literal when it is one whole value
 * (`memory=256`, `vif=['mac=…']`, `name='a b'`); anything else is taken as a plain string
 * (`name=web2`, `extra=console=hvc0 quiet`), as the shell has already removed the quotes.
 */
export function parseOverride(arg: string, source = "command line"): ConfigEntry {
  const eq = arg.indexOf("=");
  const where = `${source} '${arg}'`;
  if (eq <= 0) throw new ConfigFileError([{ source: where, line: 1, column: 1, message: "expected var=value" }]);
  const key = arg.slice(0, eq).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
    throw new ConfigFileError([{ source: where, line: 1, column: 1, message: `'${key}' is not a setting name` }]);
  }
  const raw = arg.slice(eq + 1);
  const valuePos = { line: 1, column: eq + 2 };
  const literal = /^\s*$/.test(raw) ? undefined : literalValue(raw, where);
  const value = literal === undefined || literal === null ? raw : literal;
  return { key, keyPos: { line: 1, column: 1 }, value: configValueOf(value, valuePos), source: where, raw: value };
}
