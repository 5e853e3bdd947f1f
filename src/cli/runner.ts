/**
 * `xvm __runner <dir>`: the hidden subcommand that IS one simulated guest. The sim driver starts it
 * detached (own session, output to a log file); nobody types it.
 */
import { Command, Option } from "clipanion";
import { resolve } from "node:path";
import { setDaemonUmask } from "../runtime/umask.ts";

class RunnerCommand extends Command {
  static override paths = [["__runner"]];

  dir = Option.String({ required: true });

  async execute(): Promise<number> {
    // A guest's runner outlives xend and writes its own files (log, dumps): umask 022 like xend.
    setDaemonUmask();
    const { runRunner } = await import("../hypervisor/sim/runner.ts");
    return runRunner(resolve(this.dir));
  }
}

export const commands = [RunnerCommand];
