#!/usr/bin/env node
// The single entry point, for the compiled binary, the esbuild bundle and `tsx bin/xvm.ts`.
import { endOnClosedStdout } from "../src/cli/closed-stdout.ts";
import { main } from "../src/cli/main.ts";

endOnClosedStdout();
const code = await main(process.argv0, process.argv.slice(2));
// Commands that leave servers running (xend, the restarter, guest runners) never return here.
process.exitCode = code;
