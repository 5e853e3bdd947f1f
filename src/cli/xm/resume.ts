/** `xm resume <DomainName> [-p]`: bring a suspended managed domain back. */
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XmCommand, dom } from "./base.ts";
import { runWithProgress } from "./save-client.ts";

export class ResumeCommand extends XmCommand {
  static override paths = [["xm", "resume"]];
  static override usage = Command.Usage({
    description: "resume a Xend managed domain",
    details: `
      Restores a domain suspended with \`xm suspend\` from its checkpoint file (checked first, as
      \`xm restore\` does) and removes the file; \`-p\` leaves the domain paused.
    `,
    examples: [["Resume web1", "$0 xm resume web1"]],
  });
  paused = Option.Boolean("-p,--paused", false, { description: "do not unpause the domain after resuming it" });
  domain = Option.String({ required: true, name: "DomainName" });

  async execute(): Promise<number> {
    await runWithProgress<DomainSummary>(
      this.statePaths, `/domains/${dom(this.domain)}/resume`, { paused: this.paused },
      { verifying: `Checking ${this.domain}`, loading: `Resuming ${this.domain}`, saving: "Saving" }, this.context.stderr,
    );
    return 0;
  }
}
