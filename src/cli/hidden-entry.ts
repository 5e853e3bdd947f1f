/**
 * The two long-running processes xvm starts itself, `xvm __runner <dir>` (a guest) and
 * `xvm __restarter`, entered straight from bin/xvm.ts without clipanion: a parser, its option
 * classes and Bun's stdio streams would stay in memory for the whole life of every guest
 * (docs/architecture.md, "Memory"). src/cli/runner.ts and restarter.ts keep the same commands for
 * `xvm __runner --help` and for sources run through main.ts.
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
  const { runRestarter } = await import("../smf/restarter/server.ts");
  process.exitCode = await runRestarter(new Paths());
}
