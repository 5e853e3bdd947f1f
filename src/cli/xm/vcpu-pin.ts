/** `xm vcpu-pin <Domain> <VCPU|all> <CPUs|all>`: set which physical CPUs a vCPU may use. */
import { Command, Option } from "clipanion";
import { count } from "./args.ts";
import { XmCommand, dom } from "./base.ts";

export class VcpuPinCommand extends XmCommand {
  static override paths = [["xm", "vcpu-pin"]];
  static override usage = Command.Usage({
    description: "set which CPUs a VCPU can use",
    details: "<CPUs> is a list such as `0-3,^1` (ranges, `^` removes) or `all`; <VCPU> a vCPU number or `all`.",
    examples: [["Pin vCPU 0 of web1 to CPU 1", "$0 xm vcpu-pin web1 0 1"], ["Let every vCPU run anywhere", "$0 xm vcpu-pin web1 all all"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  vcpu = Option.String({ required: true, name: "VCPU" });
  cpus = Option.String({ required: true, name: "CPUs" });

  async execute(): Promise<number> {
    const vcpu = this.vcpu === "all" ? "all" : count(this.vcpu, "vCPU number");
    await this.api("POST", `/domains/${dom(this.domain)}/vcpus/pin`, { vcpu, cpus: this.cpus });
    return 0;
  }
}
