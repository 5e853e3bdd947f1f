/**
 * What a QEMU guest costs the host beyond its RAM (issue 13 §4), counted with the guest in the
 * host's memory accounting (src/domain/model.ts guestsKiB), like a sim guest's runner.
 *
 * Measured with QEMU 7.2 under TCG on the build machine: the Anonymous memory of
 * /proc/PID/smaps_rollup (QEMU's heap, the TCG translation buffer, vCPU thread stacks; the guest's
 * RAM is a shared memfd, counted apart as Pss_Shmem) of a booted test guest of 128 MiB, 30 s after
 * start: 80.1 MiB with 1 vCPU, 85.7 MiB with 2. Rounded up to 76 MiB + 6 MiB per vCPU (82 / 88).
 * Under KVM there is no translation buffer and QEMU needs less: the estimate then errs on the
 * side of refusing a guest that would have fitted, never of overcommitting the host. QEMU's
 * binary pages are shared with every other QEMU (file-backed): not counted.
 */
const MIB = 1024;

export const QEMU_BASE_KIB = 76 * MIB;
export const QEMU_PER_VCPU_KIB = 6 * MIB;

/** Host memory (KiB) a QEMU guest with `maxVcpus` vCPUs takes beyond its own RAM. */
export function qemuOverheadKiB(maxVcpus: number): number {
  return QEMU_BASE_KIB + QEMU_PER_VCPU_KIB * Math.max(1, maxVcpus);
}
