/** `xm sysrq <Domain> <letter>`: send a magic sysrq key to a guest. */
import { Command, Option } from "clipanion";
import { XmCommand, dom } from "./base.ts";

export class SysrqCommand extends XmCommand {
  static override paths = [["xm", "sysrq"]];
  static override usage = Command.Usage({
    description: "send a sysrq to a domain",
    details: "`c` crashes the guest as a kernel panic would (its on_crash action follows), `b` reboots it, `o` powers it off; other keys are delivered and recorded in `xm dmesg`.",
    examples: [["Crash web1", "$0 xm sysrq web1 c"]],
  });
  domain = Option.String({ required: true, name: "Domain" });
  key = Option.String({ required: true, name: "letter" });

  async execute(): Promise<number> {
    await this.api("POST", `/domains/${dom(this.domain)}/sysrq`, { key: this.key });
    return 0;
  }
}
