/** `xm unpause <Domain>`: unpause a paused domain. */
import { Command } from "clipanion";
import { DomainOpCommand } from "./domain-op.ts";

export class UnpauseCommand extends DomainOpCommand {
  static override paths = [["xm", "unpause"]];
  static override usage = Command.Usage({
    description: "unpause a paused domain",
    details: "Its vCPUs continue exactly where they stopped. Unpausing a domain that is not paused succeeds and changes nothing, as in Xen 3.4.",
    examples: [["Unpause web1", "$0 xm unpause web1"]],
  });
  protected readonly op = "unpause";
}
