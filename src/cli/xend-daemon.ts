/**
 * Running the daemon in the foreground: what `xvm xend` does, whether it came through clipanion
 * (src/cli/xend.ts, for `--root` and `--help`) or straight from bin/xvm.ts for the plain `xvm xend`
 * the restarter runs (src/cli/hidden-entry.ts: the parser would stay in the daemon's memory).
 */
import { startDaemon, startExitCode } from "../daemon/daemon.ts";
import { errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";

interface Out {
  write(text: string): unknown;
}

/** Serves until stopped, then ends the process; resolves only with the exit status of a failed start. */
export async function runXendDaemon(paths: Paths, stdout: Out, stderr: Out): Promise<number> {
  let daemon;
  try {
    daemon = await startDaemon({ paths, captureStdio: true, signals: true, echo: Boolean(process.env.XEND_DEBUG) });
  } catch (error) {
    stderr.write(`xend: ${errorMessage(error)}\n`);
    return startExitCode(error);
  }
  stdout.write(`xend: running (pid ${process.pid}); control API on ${daemon.paths.controlSocket}\n`);
  const code = await daemon.done;
  // Guests' runners, plugin timers and sockets must not keep a stopped daemon alive.
  process.exit(code);
}
