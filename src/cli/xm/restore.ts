/** `xm restore <File> [-p]`: bring a saved domain back (same name, uuid and memory). */
import { resolve } from "node:path";
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XmCommand } from "./base.ts";
import { runWithProgress } from "./save-client.ts";

export class RestoreCommand extends XmCommand {
  static override paths = [["xm", "restore"]];
  static override usage = Command.Usage({
    description: "restore a domain from a saved state",
    details: `
      Reads a file written by \`xm save\`: the whole file is checked first (format version,
      truncation, checksums, the driver that wrote it) and refused with the reason, nothing created,
      when something is wrong. The domain comes back with the same name, uuid and memory and goes
      on where it stopped; \`-p\` leaves it paused.
    `,
    examples: [["Restore web1", "$0 xm restore /var/tmp/web1.save"], ["Restore it paused", "$0 xm restore /var/tmp/web1.save -p"]],
  });
  paused = Option.Boolean("-p,--paused", false, { description: "do not unpause the domain after restoring it" });
  file = Option.String({ required: true, name: "CheckpointFile" });

  async execute(): Promise<number> {
    const file = resolve(this.file);
    await runWithProgress<DomainSummary>(
      this.statePaths, "/domains/restore", { file, paused: this.paused },
      { verifying: `Checking ${this.file}`, loading: `Restoring ${this.file}`, saving: "Saving" }, this.context.stderr,
    );
    return 0;
  }
}
