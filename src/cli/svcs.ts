/**
 * `svcs`: the state of service instances, read from the repository, in svcs(1)'s formats. The
 * arguments are taken raw and parsed with getopt semantics (src/smf/restarter/view/svcs-args.ts);
 * `-?` prints svcs's own help, `--help`/`-h` alone print this usage.
 */
import { readFileSync, statSync } from "node:fs";
import { Command, type CommandClass } from "clipanion";
import type { Paths } from "../paths.ts";
import { isProcessOf, readPidFile } from "../runtime/process.ts";
import { XEND_FMRI } from "../smf/model.ts";
import type { OutsideDaemon } from "../smf/restarter/view/instances.ts";
import { Repository } from "../smf/repository.ts";
import { parseSvcs } from "../smf/restarter/view/svcs-args.ts";
import { runSvcs } from "../smf/restarter/view/svcs.ts";
import { RawArgsCommand } from "./base.ts";

class SvcsCommand extends RawArgsCommand {
  static override paths = [["svcs"]];
  static override usage = Command.Usage({
    category: "SMF",
    description: "report service status",
    details: `
      Lists service instances with their state and the time of their last state change; \`-l\` gives
      every detail, \`-x\` explains why an instance is not running and where to look, \`-p\` adds the
      processes, \`-d\`/\`-D\` list what an instance depends on / what depends on it
      (svc:/system/xvm/domains depends on xend). svcs only reads the repository: it never starts the restarter, and on a state root
      with no repository it says so and exits 1 (it creates none).
      \`-?\` prints svcs's own option and column summary.
    `,
    examples: [
      ["Enabled instances", "$0 svcs"],
      ["Every instance, with next state and contract", "$0 svcs -av"],
      ["Everything about xend", "$0 svcs -l xend"],
      ["Why is something not running?", "$0 svcs -xv"],
      ["The daemon's pid", "$0 svcs -p xend"],
      ["What depends on xend", "$0 svcs -D xend"],
      ["Chosen columns, sorted by state time", "$0 svcs -o state,stime,ctid,fmri -s stime"],
    ],
  });

  protected run(args: string[]): number {
    const req = parseSvcs(args);
    if ("exit" in req) {
      if (req.stdout) this.context.stdout.write(req.stdout);
      if (req.stderr) this.context.stderr.write(req.stderr);
      return req.exit;
    }
    const paths = this.statePaths;
    const result = runSvcs(new Repository(paths).existing(), req, Date.now(), { outside: outsideDaemon(paths) });
    this.context.stderr.write(result.stderr);
    this.context.stdout.write(result.stdout);
    return result.exit;
  }
}

/**
 * xend running for this root but not started by the restarter (systemd's unit, or `xvm xend` by
 * hand), from its pid file and the manager it recorded (src/daemon/daemon.ts). Read here without
 * loading daemon code: svcs stays light.
 */
function outsideDaemon(paths: Paths): OutsideDaemon | undefined {
  const pid = readPidFile(paths.pidFile);
  if (pid === undefined || !isProcessOf(pid, "xend")) return undefined;
  let manager = "none";
  try {
    manager = readFileSync(paths.managerFile, "utf8").trim() || "none";
  } catch {
    // an older daemon: by hand
  }
  if (manager === "restarter") return undefined;
  let since: number | undefined;
  try {
    since = statSync(paths.pidFile).mtimeMs;
  } catch {
    // gone meanwhile
  }
  return { fmri: XEND_FMRI, pid, manager, ...(since !== undefined ? { since } : {}) };
}

export const commands: CommandClass[] = [SvcsCommand];
