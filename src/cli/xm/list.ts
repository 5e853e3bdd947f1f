/** `xm list [-l] [--state=<state>] [Domain…]`: domains in xm 3.4's fixed-width format. */
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XmCommand, XmUsageError } from "./base.ts";
import { formatList } from "./format.ts";
import { formatLong } from "./long.ts";

export class ListCommand extends XmCommand {
  static override paths = [["xm", "list"]];
  static override usage = Command.Usage({
    description: "list information about all/some domains",
    details: `
      One line per domain: name, id, memory (MiB), online vCPUs, the state flags and CPU time in
      seconds, as xm printed them. Inactive managed domains (\`xm new\`) have no id and no state.

      State flags, in this order: r running, b blocked (idle or waiting), p paused, s shut down,
      c crashed (kept by on_crash = preserve), d dying. Domains are accepted by name, id or uuid.
    `,
    examples: [
      ["List every domain", "$0 xm list"],
      ["Two domains, one by id", "$0 xm list web1 3"],
      ["Every detail of one domain", "$0 xm list -l web1"],
      ["Only paused domains", "$0 xm list --state=paused"],
      ["For scripts: every domain as JSON", "$0 xm list --json"],
    ],
  });
  long = Option.Boolean("-l,--long", false, { description: "print every detail of each domain (SXP, as xm list -l)" });
  state = Option.String("--state", { description: "only domains in this state: running, paused, halted, crashed, suspended or all" });
  json = Option.Boolean("--json", false, { description: "print the domains as JSON, as the control API's GET /domains answers them (docs/xm-json.md)" });
  domains = Option.Rest({ name: "Domain" });

  async execute(): Promise<number> {
    if (this.state !== undefined && this.domains.length > 0) {
      throw new XmUsageError("You may specify either a state or a particular VM, but not both");
    }
    let list: DomainSummary[];
    if (this.domains.length > 0) list = await Promise.all(this.domains.map((d) => this.getDomain(d)));
    else list = await this.listDomains(this.state);
    // The JSON objects are complete already: -l adds nothing to them.
    if (this.json) this.outJson({ domains: list });
    else this.out(this.long ? formatLong(list) : formatList(list));
    return 0;
  }
}
