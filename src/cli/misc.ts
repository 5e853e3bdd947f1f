import { mkdirSync, readlinkSync, symlinkSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { Command, Option, type CommandClass } from "clipanion";
import { XvmCommand } from "./base.ts";
import { LINK_NAMES } from "./command-line.ts";

class InstallLinksCommand extends XvmCommand {
  static override paths = [["install-links"]];
  static override usage = Command.Usage({
    description: "create the command links (xend, xm, svccfg, svcadm, svcs, svcprop, mdb, dladm) to this binary",
    details: "Each link reaches the same binary, which picks the command from the name it was called by. Existing links are replaced; other files are left alone.",
    examples: [["Install the links next to the binary", "$0 install-links /usr/local/bin"]],
  });
  dir = Option.String({ required: true });
  target = Option.String("--target", { description: "binary the links point to (default: this executable)" });

  async execute(): Promise<number> {
    const dir = resolve(this.dir);
    const target = resolve(this.target ?? process.execPath);
    mkdirSync(dir, { recursive: true });
    for (const name of LINK_NAMES) {
      const link = join(dir, name);
      try {
        readlinkSync(link);
        unlinkSync(link);
      } catch {
        // not a link (or absent): symlinkSync below reports a real file in the way
      }
      try {
        symlinkSync(target, link);
      } catch (error) {
        return this.fail(`cannot create ${link}: ${(error as Error).message}`);
      }
      this.context.stdout.write(`${link} -> ${target}\n`);
    }
    return 0;
  }
}

export const commands: CommandClass[] = [InstallLinksCommand];
