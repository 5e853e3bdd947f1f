/**
 * `svcadm`: administrative actions on SMF service instances, with the Solaris 10 command line,
 * messages and exit codes (0 ok, 1 failure, 2 usage, 3 and 4 with -s). The arguments are taken raw
 * and parsed with getopt semantics (src/smf/restarter/svcadm-args.ts); `--help`/`-h` alone print
 * this usage.
 */
import { Command, type CommandClass } from "clipanion";
import { runSvcadm } from "../smf/restarter/admin.ts";
import { parseSvcadm } from "../smf/restarter/svcadm-args.ts";
import { RawArgsCommand } from "./base.ts";

class SvcadmCommand extends RawArgsCommand {
  static override paths = [["svcadm"]];
  static override usage = Command.Usage({
    category: "SMF",
    description: "manipulate service instances",
    details: `
      Enables, disables, restarts, refreshes, marks and clears instances of services managed by
      the restarter (svc.startd's role), which svcadm starts on demand for the state root.
      \`-s\` waits until the instance is online (enable) or disabled (disable); it exits 3 if the
      instance went to maintenance or was changed by someone else, 4 if the restarter is gone.
      \`-t\` makes the change temporary: it lasts until the next fresh boot of the restarter.
    `,
    examples: [
      ["Bring xend online and wait for it", "$0 svcadm enable -s xend"],
      ["Make new properties take effect", "$0 svcadm refresh svc:/system/xvm/xend:default"],
      ["Restart the daemon", "$0 svcadm restart xend"],
      ["Disable until the next boot", "$0 svcadm disable -t xend"],
      ["Put it into maintenance, then bring it back", "$0 svcadm mark maintenance xend && $0 svcadm clear xend"],
    ],
  });

  protected async run(args: string[]): Promise<number> {
    const req = parseSvcadm(args);
    if ("exit" in req) {
      this.context.stderr.write(req.stderr);
      return req.exit;
    }
    return await runSvcadm(this.statePaths, req, {
      out: (t) => this.context.stdout.write(t),
      err: (t) => this.context.stderr.write(t),
    });
  }
}

export const commands: CommandClass[] = [SvcadmCommand];
