/**
 * Reading the command line before any command is loaded: which command a link name stands for,
 * and `--root`. Kept apart from main.ts (and clipanion) so that the entry point can answer
 * `--version` without loading the parser.
 */
import { resolve } from "node:path";
import { linkCommand } from "./link-names.ts";

export { LINK_NAMES } from "./link-names.ts";

export function commandArgs(argv0: string | undefined, argv: readonly string[]): string[] {
  const name = linkCommand(argv0);
  return name ? [name, ...argv] : [...argv];
}

/** `--root DIR` may stand before the command or right after it; it becomes XVM_ROOT for children too. */
export function takeRoot(args: string[]): string[] {
  const out = [...args];
  for (const at of [0, 1]) {
    const a = out[at];
    if (a === undefined) break;
    if (a === "--root" && out[at + 1] !== undefined) {
      process.env.XVM_ROOT = resolve(out[at + 1]!);
      out.splice(at, 2);
      break;
    }
    if (a.startsWith("--root=")) {
      process.env.XVM_ROOT = resolve(a.slice("--root=".length));
      out.splice(at, 1);
      break;
    }
  }
  return out;
}

/**
 * `xvm help [command…]` is `xvm [command…] --help`, and `xvm version` is `xvm --version`, as in
 * most modern command-line tools (a link named after a command keeps that command's own words:
 * `xm help` is xm's).
 */
export function builtinWords(args: readonly string[]): string[] {
  if (args[0] === "help") return args.length === 1 ? ["--help"] : [...args.slice(1), "--help"];
  if (args[0] === "version" && args.length === 1) return ["--version"];
  return [...args];
}
