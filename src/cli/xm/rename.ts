/** `xm rename <Domain> <NewDomainName>`. */
import { Command, Option } from "clipanion";
import { XmCommand, dom } from "./base.ts";

export class RenameCommand extends XmCommand {
  static override paths = [["xm", "rename"]];
  static override usage = Command.Usage({
    description: "rename a domain",
    details: "Running or inactive managed domains alike; the new name must be free and valid (letters, digits, `_ . : + @ -`).",
    examples: [["Rename web1 to www", "$0 xm rename web1 www"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  name = Option.String({ required: true, name: "NewDomainName" });

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/rename`, { name: this.name });
    return 0;
  }
}
