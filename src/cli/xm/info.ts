/** `xm info`: this host, one `key                    : value` line per node field, as xm printed it. */
import { Command } from "clipanion";
import type { NodeInfo } from "../../domain/types.ts";
import { XmCommand } from "./base.ts";
import { formatInfo } from "./format.ts";

export class InfoCommand extends XmCommand {
  static override paths = [["xm", "info"]];
  static override usage = Command.Usage({
    description: "get information about the host",
    details: "The fields of xend's node information, in xm's order: host, CPUs, memory (total_memory and free_memory in MiB, as xend accounts for them), the hypervisor's version and xend_config_format.",
    examples: [["Host information", "$0 xm info"], ["Free memory only", "$0 xm info | grep free_memory"]],
  });

  async execute(): Promise<number> {
    this.out(formatInfo(await this.api<NodeInfo>("GET", "/domains/0/node")));
    return 0;
  }
}
