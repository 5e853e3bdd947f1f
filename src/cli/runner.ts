/**
 * `xvm __runner <dir>`: the hidden subcommand that IS one simulated guest. The sim driver starts it
 * detached (own session, output to a log file); nobody types it.
 */
import { Command, Option } from "clipanion";
import { resolve } from "node:path";

class RunnerCommand extends Command {
  static override paths = [["__runner"]];

  dir = Option.String({ required: true });

  async execute(): Promise<number> {
    const { runRunner } = await import("../hypervisor/sim/runner.ts");
    return runRunner(resolve(this.dir));
  }
}

export const commands = [RunnerCommand];
