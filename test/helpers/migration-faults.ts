/**
 * Test-only faults in a migration stream, kept out of the driver interface and of the relocation
 * API: the test arms a fault for one guest's next outgoing stream by writing its runner's
 * `test-fault` file (src/hypervisor/sim/protocol.ts RUNNER_TEST_FAULT), which the source runner reads
 * once and removes — only a runner whose xend was started with XVM_TEST_FAULTS=1 looks at it. This
 * wraps the compiled daemon's sim driver from outside, since the e2e tests cannot reach into it.
 *
 * Faults: `corrupt-batch:N` changes a byte of the N-th PAGES frame (its checksum then fails);
 * `close-mid-batch:N` closes the link in the middle of the N-th.
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RUNNER_TEST_FAULT } from "../../src/hypervisor/sim/protocol.ts";

function faultFile(root: string, domid: number): string {
  return join(root, "var/run/xend/domains", String(domid), RUNNER_TEST_FAULT);
}

/**
 * Runs `migrate` with `fault` armed for guest `domid` on the state root `root`, and disarms it
 * afterwards should the stream never have started.
 */
export function withMigrationFault<T>(root: string, domid: number, fault: string, migrate: () => T): T {
  const file = faultFile(root, domid);
  writeFileSync(file, `${fault}\n`, { mode: 0o600 });
  try {
    return migrate();
  } finally {
    rmSync(file, { force: true });
  }
}
