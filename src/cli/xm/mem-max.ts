/** `xm mem-max <Domain> <Mem>`: set the most memory a domain may be given. */
import { Command, Option } from "clipanion";
import { mebibytes } from "./args.ts";
import { XmCommand, dom } from "./base.ts";

export class MemMaxCommand extends XmCommand {
  static override paths = [["xm", "mem-max"]];
  static override usage = Command.Usage({
    description: "set the maximum amount reservation for a domain",
    details: "<Mem> is in MiB, or with a unit (k, m, g). It may not be below the domain's current memory.",
    examples: [["Let web1 grow to 2 GiB", "$0 xm mem-max web1 2g"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  mem = Option.String({ required: true, name: "Mem" });

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/maxmem`, { maxmem: mebibytes(this.mem) });
    return 0;
  }
}
