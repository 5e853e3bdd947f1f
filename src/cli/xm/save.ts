/** `xm save [-c] <Domain> <File>`: save a domain's state to a file (and destroy it, unless -c). */
import { resolve } from "node:path";
import { Command, Option } from "clipanion";
import type { SaveResult } from "../../domain/types.ts";
import { XmCommand, dom } from "./base.ts";
import { runWithProgress } from "./save-client.ts";

export class SaveCommand extends XmCommand {
  static override paths = [["xm", "save"]];
  static override usage = Command.Usage({
    description: "save a domain state to restore later",
    details: `
      Writes the domain's config, memory and vCPU state to the file (a versioned header, the
      driver's state, a checksum) and destroys the domain; with \`-c\` it keeps running. The file
      is written under a temporary name and renamed when complete. \`xm restore\` brings the domain
      back with the same name, uuid and memory. Progress goes to standard error: a percentage with
      an ETA on a terminal, a plain line every few seconds otherwise.
    `,
    examples: [
      ["Save web1 and stop it", "$0 xm save web1 /var/tmp/web1.save"],
      ["Take a snapshot and keep web1 running", "$0 xm save -c web1 /var/tmp/web1.save"],
    ],
  });
  checkpoint = Option.Boolean("-c,--checkpoint", false, { description: "leave the domain running after creating the snapshot" });
  domain = Option.String({ required: true, name: "Domain" });
  file = Option.String({ required: true, name: "CheckpointFile" });

  async execute(): Promise<number> {
    await runWithProgress<SaveResult>(
      this.statePaths, `/domains/${dom(this.domain)}/save`, { file: resolve(this.file), checkpoint: this.checkpoint },
      { saving: `Saving ${this.domain}`, verifying: "Checking", loading: "Loading" }, this.context.stderr,
    );
    return 0;
  }
}
