/** `xm mem-set <Domain> <Mem>`: balloon a domain to a new memory target. */
import { Command, Option } from "clipanion";
import { mebibytes } from "./args.ts";
import { XmCommand, dom } from "./base.ts";

export class MemSetCommand extends XmCommand {
  static override paths = [["xm", "mem-set"]];
  static override usage = Command.Usage({
    description: "set the current memory usage for a domain",
    details: `
      <Mem> is in MiB, or with a unit: 512, 512m, 1g, 262144k. The guest gives back (and zeroes) the
      pages above a lower target; a higher one may not exceed its maximum (\`xm mem-max\`).
      For Domain-0 it sets the memory this host keeps for itself.
    `,
    examples: [["Balloon web1 down to 256 MiB", "$0 xm mem-set web1 256"], ["Back up to 1 GiB", "$0 xm mem-set web1 1g"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  mem = Option.String({ required: true, name: "Mem" });

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/memory`, { target: mebibytes(this.mem) });
    return 0;
  }
}
