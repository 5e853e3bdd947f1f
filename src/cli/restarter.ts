/**
 * `xvm __restarter`: the restarter process (svc.startd's role). Hidden: svcadm starts it on
 * demand, detached, and nobody needs to type it.
 */
import type { CommandClass } from "clipanion";
import { runRestarter } from "../smf/restarter/server.ts";
import { XvmCommand } from "./base.ts";

class RestarterCommand extends XvmCommand {
  // No usage: clipanion leaves commands without one out of the command list.
  static override paths = [["__restarter"]];

  async execute(): Promise<number> {
    return await runRestarter(this.statePaths);
  }
}

export const commands: CommandClass[] = [RestarterCommand];
