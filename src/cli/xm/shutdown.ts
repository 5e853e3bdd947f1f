/** `xm shutdown [-w] [-a] [-H|-R] <Domain>`: ask a domain to shut down gracefully. */
import { Command, Option } from "clipanion";
import { XmUsageError } from "./base.ts";
import { ShutdownLikeCommand } from "./shutdown-wait.ts";

export class ShutdownCommand extends ShutdownLikeCommand {
  static override paths = [["xm", "shutdown"]];
  static override usage = Command.Usage({
    description: "shutdown a domain",
    details: `
      The guest is asked to power off; when it has, its on_poweroff action runs (destroy by
      default). With -w, waits until the domain is gone. -R reboots instead (as \`xm reboot\`), -H
      halts. A paused domain cannot act on the request: unpause it first.
    `,
    examples: [
      ["Shut web1 down and wait", "$0 xm shutdown -w web1"],
      ["Shut down every guest and wait", "$0 xm shutdown -a -w"],
    ],
  });
  halt = Option.Boolean("-H,--halt", false, { description: "shutdown without reboot (halt)" });
  reboot = Option.Boolean("-R,--reboot", false, { description: "shutdown and reboot" });

  async execute(): Promise<number> {
    if (this.halt && this.reboot) throw new XmUsageError("Can't specify halt and reboot");
    return this.shutdownDomains(this.reboot ? "reboot" : this.halt ? "halt" : "poweroff");
  }
}
