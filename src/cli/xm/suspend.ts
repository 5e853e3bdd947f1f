/** `xm suspend <DomainName>`: save a managed domain into xend's folder for it and stop it. */
import { Command, Option } from "clipanion";
import type { SaveResult } from "../../domain/types.ts";
import { XmCommand, dom } from "./base.ts";
import { runWithProgress } from "./save-client.ts";

export class SuspendCommand extends XmCommand {
  static override paths = [["xm", "suspend"]];
  static override usage = Command.Usage({
    description: "suspend a Xend managed domain",
    details: `
      Saves a running managed domain (added with \`xm new\`) to
      var/lib/xend/domains/<uuid>/checkpoint.chk and stops it; \`xm list\` keeps it, and
      \`xm resume\` brings it back where it stopped. Domains xend does not manage use \`xm save\`.
    `,
    examples: [["Suspend web1", "$0 xm suspend web1"]],
  });
  domain = Option.String({ required: true, name: "DomainName" });

  async execute(): Promise<number> {
    await runWithProgress<SaveResult>(
      this.statePaths, `/domains/${dom(this.domain)}/suspend`, {},
      { saving: `Suspending ${this.domain}`, verifying: "Checking", loading: "Loading" }, this.context.stderr,
    );
    return 0;
  }
}
