/**
 * `xm dump-core [-L|--live] [-C|--crash] [-R|--reset] <Domain> [Filename]`: a core dump of a running
 * domain on demand, through this plugin's route on the control API
 * (`POST /plugins/enable-dump/dump`, plugins/enable-dump/routes.ts).
 *
 * As xm did: the file name is made absolute against the caller's directory; without one, the daemon
 * picks xend's name in the dump directory. The domain is paused while dumping unless --live;
 * --crash destroys it after the dump, --reset restarts it. Beyond xm, the command says where the
 * dump went (`Core dumped to <file>`), since the default name is chosen by the daemon, and shows
 * progress on standard error for guests of 64 MiB or more: a percentage with an ETA on a terminal,
 * a plain line every few seconds on a pipe or a log.
 */
import { resolve } from "node:path";
import { XvmError, type CommandRequestError, type CommandRun } from "xvm/plugin";
import type { DumpResult } from "./dump-file.ts";

const ROUTE = "/plugins/enable-dump/dump";
/** Smaller guests dump in a blink; a progress line would only flicker. */
const PROGRESS_MIN_BYTES = 64 * 2 ** 20;

const run: CommandRun = async ({ options, args }, ctx) => {
  if (options.crash && options.reset) throw new Error("You may not specify more than one '-CR' option");
  const domain = args.Domain!;
  const body: Record<string, unknown> = { domain, live: options.live === true, crash: options.crash === true, reset: options.reset === true };
  if (args.Filename !== undefined) body.file = resolve(args.Filename);
  const { stdout, stderr } = ctx;
  stdout.write(`Dumping core of domain: ${domain} ...\n`);
  const progress = ctx.transferProgress(stderr);
  const onProgress = ({ done, total }: { done: number; total: number }) => {
    if (total >= PROGRESS_MIN_BYTES) progress.update(`Dumping ${domain}`, done, total);
  };
  let answer: DumpResult;
  try {
    answer = await ctx.postWithProgress(ROUTE, body, onProgress, "the daemon closed the connection before the dump finished");
  } catch (error) {
    progress.end();
    const e = error as CommandRequestError;
    if (e.code === "ENOENT" || e.code === "ECONNREFUSED") throw new XvmError("DAEMON_NOT_RUNNING", { root: ctx.paths.root, socket: ctx.paths.controlSocket });
    if (e.status === 404 && !e.code) throw new Error("the enable-dump plugin is not loaded in xend (no dump route on the control API)");
    throw new Error(e.message);
  }
  progress.end();
  stdout.write(`Core dumped to ${answer.file}\n`);
  return 0;
};

export default run;
