/** `xm info`: this host, one `key                    : value` line per node field, as xm printed it. */
import { Command, Option } from "clipanion";
import type { NodeInfo } from "../../domain/types.ts";
import { XmCommand } from "./base.ts";
import { formatInfo } from "./format.ts";

export class InfoCommand extends XmCommand {
  static override paths = [["xm", "info"]];
  static override usage = Command.Usage({
    description: "get information about the host",
    details: "The fields of xend's node information, in xm's order: host, CPUs, memory (total_memory and free_memory in MiB, as xend accounts for them), the hypervisor's version and xend_config_format. With -c (Xen 3.4's `xm info --config`), xend's configuration in force follows, one `key : value` line per config property (dom0-cpus, dom0-min-mem, …), as the daemon reads them from the running snapshot.",
    examples: [["Host information", "$0 xm info"], ["Free memory only", "$0 xm info | grep free_memory"], ["Also xend's configuration in force", "$0 xm info -c"], ["As JSON", "$0 xm info --json"]],
  });

  config = Option.Boolean("-c,--config", false, { description: "also print xend's configuration in force" });
  json = Option.Boolean("--json", false, { description: "print the node object as JSON (with -c: {node, config}); see docs/xm-json.md" });

  async execute(): Promise<number> {
    const node = await this.api<NodeInfo>("GET", "/domains/0/node");
    if (this.json) {
      if (this.config) this.outJson({ node, config: await this.api<Record<string, string | number | boolean>>("GET", "/config") });
      else this.outJson(node);
      return 0;
    }
    let text = formatInfo(node);
    if (this.config) text += formatInfo(await this.api<Record<string, string | number | boolean>>("GET", "/config"));
    this.out(text);
    return 0;
  }
}
