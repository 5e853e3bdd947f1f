/**
 * Issue 16, row 1: `xvm --version` of the compiled binary next to a `bun build --compile`
 * hello-world binary built in the same run (the cost of starting a Bun executable at all).
 * Goal: at most 2x.
 *
 *   npm run bench -- cli-version        [-- --bin dist/xvm] [--rounds 25]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, buildHello, measure, report, rounds } from "./lib/cold-start.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-bench-cli-version-"));
try {
  const hello = buildHello(dir);
  console.log(`binary ${bin}; ${rounds} rounds, interleaved, medians`);
  const m = measure([
    { label: "hello", cmd: hello, args: [], expect: /^hello\n$/ },
    { label: "xvm --version", cmd: bin, args: ["--version"], expect: /^\d+\.\d+\.\d+\S*\n$/ },
  ]);
  report("xvm --version", m.get("xvm --version")!, "hello", m.get("hello")!, 2);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
