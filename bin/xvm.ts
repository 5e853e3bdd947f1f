#!/usr/bin/env node
// The single entry point, for the compiled binary, the esbuild bundle and `tsx bin/xvm.ts`.
// It loads nothing it does not need (docs/architecture.md, "Start-up"): `xvm --version` answers
// before anything else is loaded, and start.ts loads only the command area named, which the build
// puts in a chunk of its own.
import { linkCommand } from "../src/cli/link-names.ts";
import { VERSION } from "../src/version.ts";

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v") && !linkCommand(process.argv0)) {
  // Byte for byte what clipanion's built-in version command prints. console.log, not
  // process.stdout: Bun builds its stdout stream on first use, which costs more than the rest
  // (so a closed stdout ends this one quietly with status 0, not 141 as the commands do).
  console.log(VERSION);
} else if (!linkCommand(process.argv0) && ((argv[0] === "__runner" && argv.length === 2 && !argv[1]!.startsWith("-")) || ((argv[0] === "__restarter" || argv[0] === "xend") && argv.length === 1))) {
  // The long-running processes (a guest's runner, the restarter, xend) skip the command line
  // parser: clipanion, its streams and the command modules would stay in their memory for as long
  // as they live (issue 16 §2; docs/architecture.md, "Memory").
  const { runHidden } = await import("../src/cli/hidden-entry.ts");
  await runHidden(argv);
} else {
  // Whatever the caller's umask, nothing xvm creates under the state root is group- or
  // world-writable (issue 13 §2); the daemons set it again themselves (src/runtime/umask.ts).
  process.umask(0o022);
  const { start } = await import("../src/cli/start.ts");
  // Commands that leave servers running (xend, the restarter, guest runners) never return here.
  process.exitCode = await start(process.argv0, argv);
}

