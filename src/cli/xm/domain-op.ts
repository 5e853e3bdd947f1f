/** Base of the one-domain commands that print nothing: they post to `/domains/<dom>/<op>`. */
import { Option } from "clipanion";
import { XmCommand, dom } from "./base.ts";

export abstract class DomainOpCommand extends XmCommand {
  domain = Option.String({ required: true, name: "Domain" });
  protected abstract readonly op: string;

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/${this.op}`, {});
    return 0;
  }
}
