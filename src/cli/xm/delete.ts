/** `xm delete <Domain>`: remove an inactive domain from xend's management. */
import { Command, Option } from "clipanion";
import { XmCommand, dom } from "./base.ts";

export class DeleteCommand extends XmCommand {
  static override paths = [["xm", "delete"]];
  static override usage = Command.Usage({
    description: "remove a domain from Xend domain management",
    details: "Forgets the config `xm new` stored. The domain must not be running (destroy or shut it down first).",
    examples: [["Forget web1", "$0 xm delete web1"]],
  });
  domain = Option.String({ required: true, name: "DomainName" });

  async execute(): Promise<number> {
    await this.api("DELETE", `/domains/${dom(this.domain)}`);
    return 0;
  }
}
