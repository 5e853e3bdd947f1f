/**
 * Test-only fault points (issue 13 §3): with XVM_TEST_FAULTS=1 and a point's name in XVM_TEST_HOLD
 * (comma-separated), the daemon stops at that point for good, after writing
 * `var/run/xend/hold-<point>` (its pid) so that a test knows where it is and kills it there by pid.
 * Without both variables a point costs one environment lookup.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "./atomic-write.ts";

export async function faultPoint(name: string, runDir: string): Promise<void> {
  if (process.env.XVM_TEST_FAULTS !== "1") return;
  if (!(process.env.XVM_TEST_HOLD ?? "").split(",").includes(name)) return;
  mkdirSync(runDir, { recursive: true });
  // Atomic: a test polling for the file must never read it empty (it did, under load).
  writeFileAtomic(join(runDir, `hold-${name}`), `${process.pid}\n`);
  await new Promise<never>(() => {});
}
