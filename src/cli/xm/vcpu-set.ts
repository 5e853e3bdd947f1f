/** `xm vcpu-set <Domain> <vCPUs>`: set the number of online vCPUs. */
import { Command, Option } from "clipanion";
import { count } from "./args.ts";
import { XmCommand, dom } from "./base.ts";

export class VcpuSetCommand extends XmCommand {
  static override paths = [["xm", "vcpu-set"]];
  static override usage = Command.Usage({
    description: "set the number of active VCPUs allowed for the domain",
    details: "Between 1 and the domain's maxvcpus; vCPUs above the count are taken offline, below it brought online. For Domain-0 (`xm vcpu-set 0 N`): between 1 and the vCPUs config/dom0-cpus gives it (one per host CPU when 0).",
    examples: [["Give web1 two vCPUs", "$0 xm vcpu-set web1 2"], ["Leave Domain-0 one vCPU online", "$0 xm vcpu-set 0 1"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  vcpus = Option.String({ required: true, name: "vCPUs" });

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/vcpus`, { count: count(this.vcpus, "number of vCPUs") });
    return 0;
  }
}
