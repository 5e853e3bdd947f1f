/**
 * The xm commands of external plugins (those of `config/plugin-path`, as the daemon finds them):
 * loaded only when the xm subcommand is not one of xm's own (`xm hello`) or when xm lists its
 * subcommands (`xm`, `xm help`), so the other commands start as fast as before. A plugin that
 * cannot be loaded adds no command here (the daemon reports it: `svcs -x`, GET /plugins).
 */
import type { CommandClass } from "clipanion";
import { Paths } from "../../paths.ts";
import { discoverPlugins, importPlugin, pluginDirectories } from "../../plugin/loader.ts";
import { CORE_PROPERTIES } from "../../plugin/core-properties.ts";
import { RepositoryFile } from "../../smf/store.ts";
import { runningConfig } from "../../smf/repository.ts";
import { pluginCommandClass } from "./plugin-command.ts";

export async function externalCommands(taken: ReadonlySet<string>, paths = new Paths()): Promise<CommandClass[]> {
  let pluginPath: string = CORE_PROPERTIES["plugin-path"].default;
  try {
    const data = new RepositoryFile(paths.repository, paths.repositoryLock).read();
    const value = data ? runningConfig(data)["plugin-path"] : undefined;
    if (typeof value === "string") pluginPath = value;
  } catch {
    // no readable repository: the default plugin-path
  }
  const out: CommandClass[] = [];
  const seen = new Set(taken);
  for (const file of discoverPlugins(pluginDirectories(pluginPath, paths))) {
    try {
      const def = await importPlugin(file);
      for (const command of def.commands ?? []) {
        if (seen.has(command.name)) continue;
        seen.add(command.name);
        out.push(pluginCommandClass(command));
      }
    } catch {
      // reported by the daemon, not by every xm command
    }
  }
  return out;
}
