/** `xm domid <DomainName>`: a domain's id. */
import { Command, Option } from "clipanion";
import { XmCommand } from "./base.ts";

export class DomidCommand extends XmCommand {
  static override paths = [["xm", "domid"]];
  static override usage = Command.Usage({
    description: "convert a domain name to domain id",
    details: "Prints `None` for an inactive managed domain, as xm did.",
    examples: [["The id of web1", "$0 xm domid web1"]],
  });
  domain = Option.String({ required: true, name: "DomainName" });

  async execute(): Promise<number> {
    const d = await this.getDomain(this.domain);
    this.out(`${d.domid ?? "None"}\n`);
    return 0;
  }
}
