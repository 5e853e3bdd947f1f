/** `xm dmesg [-c]`: the hypervisor's message ring. */
import { Command, Option } from "clipanion";
import { XmCommand } from "./base.ts";

export class DmesgCommand extends XmCommand {
  static override paths = [["xm", "dmesg"]];
  static override usage = Command.Usage({
    description: "read and/or clear the hypervisor's message buffer",
    details: "The simulated hypervisor's ring (16 KiB): domains created, destroyed, crashed, sysrqs and triggers sent.",
    examples: [["Read it", "$0 xm dmesg"], ["Read and clear it", "$0 xm dmesg -c"]],
  });
  clear = Option.Boolean("-c,--clear", false, { description: "clear the buffer as well as printing it" });

  async execute(): Promise<number> {
    const { text } = this.clear
      ? await this.api<{ text: string }>("POST", "/domains/0/dmesg/clear", {})
      : await this.api<{ text: string }>("GET", "/domains/0/dmesg");
    this.out(text);
    return 0;
  }
}
