/** `xm domname <DomId>`: a domain's name. */
import { Command, Option } from "clipanion";
import { XmCommand } from "./base.ts";

export class DomnameCommand extends XmCommand {
  static override paths = [["xm", "domname"]];
  static override usage = Command.Usage({
    description: "convert a domain id to domain name",
    details: "Also accepts a uuid (or a name).",
    examples: [["The name of domain 3", "$0 xm domname 3"]],
  });
  domain = Option.String({ required: true, name: "DomId" });

  async execute(): Promise<number> {
    const d = await this.getDomain(this.domain);
    this.out(`${d.name}\n`);
    return 0;
  }
}
