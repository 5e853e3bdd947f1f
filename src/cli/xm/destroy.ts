/** `xm destroy <Domain>`: terminate a domain immediately. */
import { Command } from "clipanion";
import { DomainOpCommand } from "./domain-op.ts";

export class DestroyCommand extends DomainOpCommand {
  static override paths = [["xm", "destroy"]];
  static override usage = Command.Usage({
    description: "terminate a domain immediately",
    details: "The guest is stopped without being asked (its on_poweroff action does not run). A managed domain stays defined and can be started again.",
    examples: [["Destroy web1", "$0 xm destroy web1"], ["By id", "$0 xm destroy 3"]],
  });
  protected readonly op = "destroy";
}
