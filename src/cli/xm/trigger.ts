/** `xm trigger <Domain> <nmi|reset|init|power|sleep> [VCPU]`. */
import { Command, Option } from "clipanion";
import { count } from "./args.ts";
import { XmCommand, XmUsageError, dom } from "./base.ts";

const TRIGGERS = ["nmi", "reset", "init", "power", "sleep"];

export class TriggerCommand extends XmCommand {
  static override paths = [["xm", "trigger"]];
  static override usage = Command.Usage({
    description: "send a trigger to a domain",
    details: "`nmi`: the simulated kernel panics (as with panic_on_unrecovered_nmi), so on_crash and crash dumps follow; `reset`: a hard reset (a new domain id, whatever on_reboot says); `power`: the power button (a clean poweroff). `init` and `sleep` are HVM triggers the simulator does not have.",
    examples: [["Force a crash dump of a hung guest", "$0 xm trigger web1 nmi"], ["Hard-reset web1", "$0 xm trigger web1 reset"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  trigger = Option.String({ required: true, name: "trigger" });
  vcpu = Option.String({ required: false, name: "VCPU" });

  async execute(): Promise<number> {
    if (!TRIGGERS.includes(this.trigger)) throw new XmUsageError(`Invalid trigger '${this.trigger}': use one of ${TRIGGERS.join(", ")}`);
    const vcpu = this.vcpu === undefined ? 0 : count(this.vcpu, "vCPU number");
    await this.api("POST", `/domains/${dom(this.domain)}/trigger`, { trigger: this.trigger, vcpu });
    return 0;
  }
}
