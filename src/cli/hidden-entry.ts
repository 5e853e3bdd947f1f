/**
 * The long-running processes, `xvm __runner <dir>` (a guest), `xvm __restarter` and the plain
 * `xvm xend` the restarter runs, entered straight from bin/xvm.ts without clipanion: a parser, its
 * option classes and Bun's stdio streams would stay in memory for the whole life of every guest
 * and daemon (docs/architecture.md, "Memory"). src/cli/runner.ts, restarter.ts and xend.ts keep
 * the same commands for `--help`, `--root` and sources run through main.ts.
 */
import { resolve } from "node:path";
import { Paths } from "../paths.ts";
import { setDaemonUmask } from "../runtime/umask.ts";

export async function runHidden(argv: readonly string[]): Promise<void> {
  if (argv[0] === "__runner") {
    // A guest's runner outlives xend and writes its own files (log, dumps): umask 022 like xend.
    setDaemonUmask();
    const { runRunner } = await import("../hypervisor/sim/runner.ts");
    await runRunner(resolve(argv[1]!));
    return;
  }
  if (argv[0] === "xend") {
    // The real streams: the daemon tees them into its logs (captureStdio) and builds them anyway.
    const { runXendDaemon } = await import("./xend-daemon.ts");
    process.exitCode = await runXendDaemon(new Paths(), process.stdout, process.stderr);
    return;
  }
  const { runRestarter } = await import("../smf/restarter/server.ts");
  process.exitCode = await runRestarter(new Paths());
}
