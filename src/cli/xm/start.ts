/** `xm start [-p] <Domain>`: start an inactive managed domain. */
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XmCommand, dom } from "./base.ts";

export class StartCommand extends XmCommand {
  static override paths = [["xm", "start"]];
  static override usage = Command.Usage({
    description: "start a Xend managed domain",
    details: "Starts a domain added with `xm new`. A running domain, or one xend does not manage, cannot be started.",
    examples: [["Start web1", "$0 xm start web1"], ["Start it paused", "$0 xm start -p web1"]],
  });
  paused = Option.Boolean("-p,--paused", false, { description: "do not unpause the domain after starting it" });
  domain = Option.String({ required: true, name: "DomainName" });

  async execute(): Promise<number> {
    const d = await this.api<DomainSummary>("POST", `/domains/${dom(this.domain)}/start`, { paused: this.paused });
    this.out(`Started domain ${d.name} (id=${d.domid})\n`);
    return 0;
  }
}
