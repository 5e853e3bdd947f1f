/** `xm log`: xend's log. */
import { Command } from "clipanion";
import { XmCommand } from "./base.ts";

export class LogCommand extends XmCommand {
  static override paths = [["xm", "log"]];
  static override usage = Command.Usage({
    description: "print the xend log",
    details: "The log file in force (config/logfile under the state root; var/log/xen/xend.log by default), as the daemon reads it.",
    examples: [["The last lines", "$0 xm log | tail"]],
  });

  async execute(): Promise<number> {
    const { text } = await this.api<{ text: string }>("GET", "/domains/0/log");
    this.out(`${text}\n`);
    return 0;
  }
}
