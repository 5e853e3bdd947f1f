/** `xm create <ConfigFile> [var=value…]`: create and start a domain from a config file. */
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { ConfigFileCommand, dryRunText } from "./config-command.ts";

export class CreateCommand extends ConfigFileCommand {
  static override paths = [["xm", "create"]];
  static override usage = Command.Usage({
    description: "create a domain based on <ConfigFile>",
    details: `
      The config file is looked up as given when it has a slash, else in the current directory and
      then in /etc/xen under the state root; with none named, xmdefconfig is read. It is Python, as
      xm's configs were (assignments, if/else, import os, % formatting, lists, dicts …), evaluated by
      xvm's own interpreter. \`var=value\` arguments are variables of the file and override it. Every error is reported with file:line:column and nothing is created; unknown settings
      are warned about. A vif without a MAC gets one in 00:16:3e:xx:xx:xx.
    `,
    examples: [
      ["Create a domain from ./web1.cfg or /etc/xen/web1.cfg", "$0 xm create web1.cfg"],
      ["Override settings from the command line", "$0 xm create web1.cfg name=web2 memory=256"],
      ["Create it paused", "$0 xm create -p web1.cfg"],
      ["Check a config and print its SXP without creating anything", "$0 xm create -n web1.cfg"],
      ["Create it and attach its console", "$0 xm create -c web1.cfg"],
      ["Create from /etc/xen/xmdefconfig with a variable", "$0 xm create vmid=3"],
    ],
  });
  paused = Option.Boolean("-p,--paused", false, { description: "leave the domain paused after it is created" });
  console = Option.Boolean("-c,--console_autoconnect", false, { description: "connect to the console after the domain is created" });

  async execute(): Promise<number> {
    const { config, shown } = this.loadConfig();
    this.out(`Using config file "${shown}".\n`);
    if (this.dryrun) {
      this.out(dryRunText(config));
      return 0;
    }
    const d = await this.api<DomainSummary>("POST", "/domains", { config, paused: this.paused }, {
      ifGone: "; the domain may exist: xm list",
    });
    this.out(`Started domain ${d.name} (id=${d.domid})\n`);
    // Through the whole command line: the CLI running `create` may hold that one command only
    // (src/cli/main.ts registers xm's subcommands lazily), so `this.cli.run` would not find console.
    if (this.console) return (await import("../main.ts")).runCli(["xm", "console", d.name]);
    return 0;
  }
}
