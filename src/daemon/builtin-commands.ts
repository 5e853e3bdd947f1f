/**
 * The xm commands of the built-in plugins, read from each plugin's `commands.ts` (declarations;
 * the implementations load when a command runs). With builtins.ts and src/smf/builtin-properties.ts
 * one of the three files under src/ that import plugins/ (test/unit/import-boundary.test.ts).
 */
import type { PluginCommand } from "../plugin/command-contract.ts";
import { commands as enableDump } from "../../plugins/enable-dump/commands.ts";
import { commands as relocation } from "../../plugins/relocation/commands.ts";

export const BUILTIN_COMMANDS: ReadonlyArray<{ owner: string; commands: readonly PluginCommand[] }> = [
  { owner: "enable-dump", commands: enableDump },
  { owner: "relocation", commands: relocation },
];
