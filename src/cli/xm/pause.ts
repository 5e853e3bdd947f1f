/** `xm pause <Domain>`: pause execution of a domain. */
import { Command } from "clipanion";
import { DomainOpCommand } from "./domain-op.ts";

export class PauseCommand extends DomainOpCommand {
  static override paths = [["xm", "pause"]];
  static override usage = Command.Usage({
    description: "pause execution of a domain",
    details: "All its vCPUs stop within a few milliseconds; its memory stays allocated. Pausing a paused domain succeeds and changes nothing, as in Xen 3.4.",
    examples: [["Pause web1", "$0 xm pause web1"]],
  });
  protected readonly op = "pause";
}
