/**
 * `dladm show-link`: the host's links as default-nic sees them (src/host/links.ts), in dladm's
 * column style, so that the default NIC's choice can be checked by eye: it is the first link
 * whose LEGACY field (`-o all`) reads `no` and is up, else the first whose LEGACY reads `no`.
 */
import { Command, Option, type CommandClass } from "clipanion";
import { XvmCommand } from "./base.ts";
import { readHostLinks } from "../host/host-links.ts";
import { formatLinkTable, selectFields } from "../host/link-table.ts";

class ShowLinkCommand extends XvmCommand {
  static override paths = [["dladm", "show-link"]];
  static override usage = Command.Usage({
    category: "dladm",
    description: "show the host's data links (LINK, CLASS, MTU, STATE, OVER)",
    details: `
      Lists the links of /sys/class/net in ifindex order, classified as dladm would (phys, aggr, vlan, vnic, bridge, iptun) or by their Linux kind (veth, tun, tap, dummy, ifb, vxlan, …). OVER names what a link is built over: a vlan's or vnic's lower link, a bridge's or aggregation's ports, a veth's peer.

      \`-o\` picks fields (link, class, mtu, state, over, and xvm's \`legacy\`: why config/default-nic would never choose the link by default, or \`no\`); \`-p\` prints them colon-separated for scripts (it needs \`-o\`).
    `,
    examples: [
      ["List the links", "$0 dladm show-link"],
      ["Show why each link is or is not a default-NIC candidate", "$0 dladm show-link -o link,class,state,legacy"],
      ["Names and states for a script", "$0 dladm show-link -p -o link,state"],
    ],
  });

  parsable = Option.Boolean("-p,--parsable,--parseable", false, { description: "colon-separated output, no header" });
  output = Option.String("-o,--output", { description: "fields to show, comma-separated (or all)" });
  link = Option.String({ required: false, name: "link" });

  override get progName(): string {
    return "dladm";
  }

  async execute(): Promise<number> {
    if (this.parsable && this.output === undefined) return this.fail("output fields must be specified in parsable mode");
    if (this.parsable && /(^|,)\s*all\s*(,|$)/i.test(this.output ?? "")) return this.fail("output field `all' invalid in parsable mode");
    let fields;
    try {
      fields = selectFields(this.output);
    } catch (error) {
      return this.fail((error as Error).message);
    }
    const all = readHostLinks();
    const shown = this.link === undefined ? all : all.filter((l) => l.name === this.link);
    if (this.link !== undefined && shown.length === 0) return this.fail(`link ${this.link} is not valid: object not found`);
    this.context.stdout.write(formatLinkTable(shown, all, { fields, parsable: this.parsable }));
    return 0;
  }
}

export const commands: CommandClass[] = [ShowLinkCommand];
