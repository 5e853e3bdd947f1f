/**
 * What a sim guest costs the host beyond its memory: its runner process (a JS runtime with one
 * worker thread per vCPU, its heap, stacks and the binary's pages no other process shares). Xen
 * charged such per-domain overhead (shadow and p2m pages) to the hypervisor, not to the guest;
 * here it is counted with the guest in the host's accounting (src/domain/model.ts guestsKiB), so
 * `xm info` free_memory and the check that refuses a creation for want of memory include it
 * (issue 13 §4).
 *
 * A fixed estimate rather than a reading per guest: a creation must know it before the runner
 * exists, a listing must not read /proc once per guest, and the figures stay reproducible.
 * Measured as the runner's Private_Dirty (/proc/PID/smaps_rollup, anonymous memory no other
 * process shares) minus the guest memory it populated, with the compiled binary on the build
 * machine (bun 1.4.5), guests of 64 MiB and 1 GiB: sim:idle 6.1–6.4 MiB with 1 vCPU, 9.2 MiB
 * with 2; sim:counter 6.9 / 10.0 MiB — about 3.5 MiB plus 3.1 MiB per vCPU, whatever the
 * guest's size. Rounded up to 4 MiB + 3 MiB per vCPU (7 MiB for one vCPU), counted for every vCPU
 * the guest may have (maxvcpus: each is a thread with its own stacks once online). The binary's
 * file-backed pages (about 33 MiB) are shared by every runner and the page cache can drop them:
 * not counted. Guests that keep the CPU busy allocating (sim:memwriter rate=max) use far more
 * heap (about 280 MiB at full speed): the estimate is a floor, not a bound.
 */
const MIB = 1024;

export const SIM_RUNNER_BASE_KIB = 4 * MIB;
export const SIM_RUNNER_PER_VCPU_KIB = 3 * MIB;

/** Host memory (KiB) a sim guest with `maxVcpus` vCPUs takes beyond its own memory. */
export function simRunnerOverheadKiB(maxVcpus: number): number {
  return SIM_RUNNER_BASE_KIB + SIM_RUNNER_PER_VCPU_KIB * Math.max(1, maxVcpus);
}
