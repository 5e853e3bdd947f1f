/** `xm new <ConfigFile> [var=value…]`: add a domain to xend's management without starting it. */
import { Command } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { ConfigFileCommand, dryRunText } from "./config-command.ts";

export class NewCommand extends ConfigFileCommand {
  static override paths = [["xm", "new"]];
  static override usage = Command.Usage({
    description: "add a domain to xend domain management",
    details: `
      The config is checked as by \`xm create\` and kept under var/lib/xend/domains (it survives
      xend restarts); \`xm start\` starts the domain, \`xm delete\` forgets it. \`xm new\` with the
      name of a managed domain replaces its config (the running domain keeps its own until restarted).
    `,
    examples: [
      ["Define web1 from its config", "$0 xm new web1.cfg"],
      ["Then start it", "$0 xm start web1"],
    ],
  });

  async execute(): Promise<number> {
    const { config, shown } = this.loadConfig();
    this.out(`Using config file "${shown}".\n`);
    if (this.dryrun) {
      this.out(dryRunText(config));
      return 0;
    }
    await this.api<DomainSummary>("POST", "/domains/define", { config });
    return 0;
  }
}
