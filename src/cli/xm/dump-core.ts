/**
 * `xm dump-core [-L|--live] [-C|--crash] [-R|--reset] <Domain> [Filename]`: a core dump of a running
 * domain on demand, through the enable-dump plugin's route on the control API
 * (`POST /plugins/enable-dump/dump`, plugins/enable-dump/routes.ts).
 *
 * As xm did: the file name is made absolute against the caller's directory; without one, the daemon
 * picks xend's name in the dump directory. The domain is paused while dumping unless --live;
 * --crash destroys it after the dump, --reset restarts it. Beyond xm, the command says where the
 * dump went (`Core dumped to <file>`), since the default name is chosen by the daemon, and shows a
 * progress line on a terminal (standard error) for guests of 64 MiB or more.
 */
import { resolve } from "node:path";
import { Command, Option } from "clipanion";
import { XvmCommand } from "../base.ts";
import { XvmError, errorMessage, formatError } from "../../errors.ts";
import { unixJson } from "../../runtime/http-client.ts";
import { ProgressLine, isTerminal, postWithProgress } from "./progress.ts";

const ROUTE = "/plugins/enable-dump/dump";

/** The route's answer (DumpResult in plugins/enable-dump/dump-file.ts, as JSON). */
interface DumpResult {
  file: string;
  bytes: number;
  seconds: number;
}
/** Smaller guests dump in a blink; a progress line would only flicker. */
const PROGRESS_MIN_BYTES = 64 * 2 ** 20;
const MiB = 2 ** 20;

function progressText(done: number, total: number): string {
  const pct = total ? Math.floor((done / total) * 100) : 100;
  return `Dumping: ${String(pct).padStart(3)}% (${(done / MiB).toFixed(0)}/${(total / MiB).toFixed(0)} MiB)`;
}

export class DumpCoreCommand extends XvmCommand {
  static override paths = [["xm", "dump-core"]];
  static override usage = Command.Usage({
    description: "dump the core of a domain",
    details: `
      Writes the domain's memory and vCPU state as a Xen dump-core ELF file (readable with \`xvm mdb\`).
      Without a file name the dump goes to the dump directory (\`config/dump-directory\`,
      /var/xen/dump under the root) as \`YYYY-MMDD-HHMM.SS-<name>.<domid>.core\`. The domain is paused
      while dumping unless \`--live\` is given.
    `,
    examples: [
      ["Dump web1 into the dump directory", "$0 xm dump-core web1"],
      ["Dump without pausing, to a chosen file", "$0 xm dump-core -L web1 /tmp/web1.core"],
      ["Dump, then destroy the domain", "$0 xm dump-core --crash web1"],
    ],
  });
  live = Option.Boolean("-L,--live", false, { description: "dump core without pausing the domain" });
  crash = Option.Boolean("-C,--crash", false, { description: "crash (destroy) the domain after the dump" });
  reset = Option.Boolean("-R,--reset", false, { description: "reset the domain after the dump" });
  domain = Option.String({ required: true, name: "Domain" });
  filename = Option.String({ required: false, name: "Filename" });

  protected override get progName(): string {
    return "xm";
  }

  private error(message: string, exitCode = 1): number {
    this.context.stderr.write(`Error: ${message}\n`);
    return exitCode;
  }

  async execute(): Promise<number> {
    if (this.crash && this.reset) return this.error("You may not specify more than one '-CR' option");
    const paths = this.statePaths;
    const body: Record<string, unknown> = { domain: this.domain, live: this.live, crash: this.crash, reset: this.reset };
    if (this.filename !== undefined) body.file = resolve(this.filename);
    const { stdout, stderr } = this.context;
    stdout.write(`Dumping core of domain: ${this.domain} ...\n`);
    const progress = new ProgressLine(stderr, true);
    const onProgress = ({ done, total }: { done: number; total: number }) => {
      if (total >= PROGRESS_MIN_BYTES) progress.update(progressText(done, total));
    };
    let answer: DumpResult;
    try {
      answer = isTerminal(stderr)
        ? await postWithProgress(paths.controlSocket, ROUTE, body, onProgress, "the daemon closed the connection before the dump finished")
        : await unixJson<DumpResult>(paths.controlSocket, "POST", ROUTE, body);
    } catch (error) {
      progress.end();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ECONNREFUSED") {
        return this.error(formatError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket }));
      }
      if ((error as { status?: number }).status === 404 && !code) {
        return this.error("the enable-dump plugin is not loaded in xend (no dump route on the control API)");
      }
      return this.error(error instanceof XvmError ? error.message : errorMessage(error));
    }
    progress.end();
    stdout.write(`Core dumped to ${answer.file}\n`);
    return 0;
  }
}

export const dumpCoreCommand = DumpCoreCommand;
