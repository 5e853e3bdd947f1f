/**
 * When pre-copy stops and how hard the guest is throttled: QEMU's switch-over rule with xend's
 * (libxc's) iteration limits as the backstop, and QEMU's auto-converge.
 *
 * - Stop-and-copy once the dirty bytes left can be sent within the downtime target at the
 *   bandwidth measured during the previous round (QEMU `migration_iteration_run`), or once fewer
 *   than 50 pages are dirty (libxc), or after `maxIterations` rounds (libxc DEF_MAX_ITERS 29, as
 *   xend ran xc_save), or once `maxFactor` times the memory was sent (libxc DEF_MAX_FACTOR 3).
 * - Auto-converge: when a round dirties more than 50 % of the bytes it transferred, twice, the vCPUs
 *   are throttled to 20 %, then 10 % more each time, up to 99 % (QEMU's defaults).
 */

export interface PolicyOptions {
  maxDowntimeMs: number;
  maxIterations: number;
  maxFactor: number;
  autoConverge: boolean;
}

export const POLICY_DEFAULTS = {
  maxIterations: 29,
  maxFactor: 3,
  /** libxc: a last round of fewer pages than this is not worth another iteration. */
  minDirtyPages: 50,
  throttleInitial: 20,
  throttleIncrement: 10,
  throttleMax: 99,
  /** Percent of the transferred bytes a round may dirty before it counts towards throttling. */
  throttleTrigger: 50,
  /** A round shorter than this does not replace the bandwidth estimate (too noisy). */
  minMeasureMs: 20,
} as const;

export interface RoundFigures {
  /** The round that just ended (1 = the full pass). */
  round: number;
  /** Pages found dirty when the round ended (what the next round would send). */
  dirtyPages: number;
  pageSize: number;
  /** Bytes written to the link during the round, and how long it took. */
  roundBytes: number;
  roundMs: number;
  /** Bytes written since the start, and the guest's memory size in bytes. */
  totalBytes: number;
  memoryBytes: number;
}

export interface Decision {
  stop: boolean;
  /** Why pre-copy stops (or "" while it goes on). */
  reason: string;
  /** Throttle to apply now (unchanged if equal to the current one). */
  throttle: number;
  /** Bytes per millisecond the decision assumed. */
  bandwidth: number;
  expectedDowntimeMs: number;
}

export class PrecopyPolicy {
  private bandwidth = 0;
  private highRounds = 0;
  throttle = 0;

  constructor(private readonly options: PolicyOptions) {}

  /** Bytes per millisecond measured so far (0 before the first round ends). */
  get measuredBandwidth(): number {
    return this.bandwidth;
  }

  afterRound(f: RoundFigures): Decision {
    if (f.roundMs >= POLICY_DEFAULTS.minMeasureMs || this.bandwidth === 0) {
      this.bandwidth = f.roundBytes / Math.max(f.roundMs, 0.001);
    }
    const dirtyBytes = f.dirtyPages * f.pageSize;
    const expectedDowntimeMs = this.bandwidth > 0 ? dirtyBytes / this.bandwidth : Infinity;
    const done = (reason: string): Decision => ({ stop: true, reason, throttle: this.throttle, bandwidth: this.bandwidth, expectedDowntimeMs });
    if (expectedDowntimeMs <= this.options.maxDowntimeMs) return done(`the ${f.dirtyPages} dirty pages fit in the ${this.options.maxDowntimeMs} ms downtime target`);
    if (f.dirtyPages < POLICY_DEFAULTS.minDirtyPages) return done(`fewer than ${POLICY_DEFAULTS.minDirtyPages} dirty pages`);
    if (f.round >= this.options.maxIterations) return done(`iteration limit (${this.options.maxIterations} rounds) reached`);
    if (f.totalBytes > this.options.maxFactor * f.memoryBytes) return done(`${this.options.maxFactor}× the guest's memory sent`);
    if (this.options.autoConverge && dirtyBytes * 100 > f.roundBytes * POLICY_DEFAULTS.throttleTrigger) {
      if (++this.highRounds >= 2) {
        this.highRounds = 0;
        this.throttle = this.throttle === 0
          ? POLICY_DEFAULTS.throttleInitial
          : Math.min(POLICY_DEFAULTS.throttleMax, this.throttle + POLICY_DEFAULTS.throttleIncrement);
      }
    }
    return { stop: false, reason: "", throttle: this.throttle, bandwidth: this.bandwidth, expectedDowntimeMs };
  }
}
