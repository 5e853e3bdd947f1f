/** `xm reboot [-w] [-a] <Domain>`: reboot a domain. */
import { Command } from "clipanion";
import { ShutdownLikeCommand } from "./shutdown-wait.ts";

export class RebootCommand extends ShutdownLikeCommand {
  static override paths = [["xm", "reboot"]];
  static override usage = Command.Usage({
    description: "reboot a domain",
    details: "The guest is asked to reboot; its on_reboot action follows (restart by default: a new domain id, the same name and uuid). With -w, waits until xend has restarted it.",
    examples: [["Reboot web1 and wait", "$0 xm reboot -w web1"], ["Reboot every guest", "$0 xm reboot -a"]],
  });

  async execute(): Promise<number> {
    return this.shutdownDomains("reboot");
  }
}
