/** `xm network-list [-l] <Domain>`: a domain's virtual network interfaces. */
import { Command, Option } from "clipanion";
import { XmCommand, dom } from "./base.ts";
import { NETWORK_HEADER, networkRows } from "./format.ts";
import { prettySxp } from "./long.ts";
import type { VifConfig } from "../../domain/types.ts";

export class NetworkListCommand extends XmCommand {
  static override paths = [["xm", "network-list"]];
  static override usage = Command.Usage({
    description: "list virtual network interfaces for a domain",
    details: "One line per vif with its MAC address (xm's columns); -l prints each vif's settings (mac, bridge, …) as SXP.",
    examples: [["web1's vifs", "$0 xm network-list web1"], ["With their bridges", "$0 xm network-list -l web1"], ["As JSON", "$0 xm network-list --json web1"]],
  });
  long = Option.Boolean("-l,--long", false, { description: "list each vif's settings as SXP" });
  json = Option.Boolean("--json", false, { description: "print the vifs as JSON, as GET /domains/<Domain>/network answers (docs/xm-json.md)" });
  domain = Option.String({ required: true, name: "Domain" });

  async execute(): Promise<number> {
    const n = await this.api<{ domid: number | null; vifs: VifConfig[] }>("GET", `/domains/${dom(this.domain)}/network`);
    if (this.json) {
      this.outJson(n);
      return 0;
    }
    if (this.long) {
      this.out(n.vifs.map((vif, i) => `${prettySxp([i, ["vif", ...Object.entries(vif).map(([k, v]) => [k, String(v)])]])}\n`).join(""));
      return 0;
    }
    if (n.vifs.length) this.out([NETWORK_HEADER, ...networkRows(n.domid, n.vifs)].map((l) => `${l}\n`).join(""));
    return 0;
  }
}
