/** `xm vcpu-list [Domain…]`: the vCPUs of some or all domains, as xm 3.4 printed them. */
import { Command, Option } from "clipanion";
import type { DomainSummary, NodeInfo } from "../../domain/types.ts";
import { XmCommand } from "./base.ts";
import { VCPU_HEADER, vcpuRows } from "./format.ts";

export class VcpuListCommand extends XmCommand {
  static override paths = [["xm", "vcpu-list"]];
  static override usage = Command.Usage({
    description: "list the VCPUs for a domain or all domains",
    details: "Per vCPU: the physical CPU it runs on, its state (r running, b blocked, p offline), its CPU time and the CPUs it may use (`any cpu` when not pinned).",
    examples: [["Every domain's vCPUs", "$0 xm vcpu-list"], ["Domain-0's", "$0 xm vcpu-list Domain-0"], ["As JSON", "$0 xm vcpu-list --json web1"]],
  });
  json = Option.Boolean("--json", false, { description: "print each domain's vCPUs as JSON (docs/xm-json.md)" });
  domains = Option.Rest({ name: "Domain" });

  async execute(): Promise<number> {
    const [list, node] = await Promise.all([
      this.domains.length ? Promise.all(this.domains.map((d) => this.getDomain(d))) : this.listDomains(),
      this.api<NodeInfo>("GET", "/domains/0/node"),
    ]);
    const nrCpus = Number(node.nr_cpus) || 1;
    if (this.json) {
      this.outJson({ domains: (list as DomainSummary[]).map((d) => ({ domid: d.domid, name: d.name, uuid: d.uuid, vcpus: d.vcpuInfo })) });
      return 0;
    }
    const lines = [VCPU_HEADER, ...(list as DomainSummary[]).flatMap((d) => vcpuRows(d, nrCpus))];
    this.out(lines.map((l) => `${l}\n`).join(""));
    return 0;
  }
}
