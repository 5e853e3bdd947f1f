/**
 * `svccfg`: SMF's service configuration command for the xvm repository. It takes its arguments raw
 * and parses them with svccfg's own getopt, so that `svccfg -s xend setprop config/x = 1` behaves as
 * on Solaris; `--help` / `-h` print this usage instead.
 */
import { Command, type CommandClass } from "clipanion";
import { Repository } from "../smf/repository.ts";
import { svccfgMain } from "../smf/svccfg/main.ts";
import { RawArgsCommand } from "./base.ts";

export class SvccfgCommand extends RawArgsCommand {
  static override paths = [["svccfg"]];
  static override usage = Command.Usage({
    description: "import, export and modify service configurations (the SMF repository)",
    details: `
      Usage: \`svccfg [-v] [-s FMRI] [-f file]\` or \`svccfg [-v] [-s FMRI] <command> [args]\`.

      With a command, runs it; with \`-f file\`, runs the file's commands; with neither, reads commands from standard input, or prompts for them (\`svc:/system/xvm/xend> \`) when it is a terminal. Commands: select, unselect, list, listpg, listprop, setprop, addpropvalue, delpropvalue, delprop, addpg, delpg, describe, export, listsnap, selectsnap, refresh, set, help, end. \`help <command>\` shows a command's usage.

      \`setprop\` changes the editing values; \`refresh\` (or \`svcadm refresh\`) publishes them to the running snapshot that xend reads. At an instance, \`listprop\` shows the composed values (the instance's over the service's). Exit status: 0, 1 if a command failed, 2 for a bad command line.
    `,
    examples: [
      ["List xend's properties", "$0 svccfg -s svc:/system/xvm/xend:default listprop"],
      ["Set the dom0 CPU count", "$0 svccfg -s svc:/system/xvm/xend:default setprop config/dom0-cpus = 1"],
      ["Set a string with blanks", `$0 svccfg -s xend setprop config/xend-relocation-hosts-allow = '"^flax$ ^localhost$"'`],
      ["Publish the new values to the running snapshot", "$0 svccfg -s xend:default refresh"],
      ["Describe the config properties", "$0 svccfg -s xend describe config"],
      ["Run commands from a file", "$0 svccfg -f commands.txt"],
    ],
  });

  protected override readonly helpStandsAlone = false;

  protected run(args: string[]): Promise<number> {
    return svccfgMain(args, this.context as never, new Repository(this.statePaths));
  }
}

export const commands: CommandClass[] = [SvccfgCommand];
