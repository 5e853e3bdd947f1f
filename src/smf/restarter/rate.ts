/**
 * svc.startd's restart rate rule (method_rate_critical): every start is recorded in a ring of the
 * last `count` starts; once the ring is full, if the average gap between the oldest and the newest
 * is under `periodMs`, the service is restarting too quickly. SMF's defaults are 5 starts and 10
 * minutes; illumos lets startd/critical_failure_count and startd/critical_failure_period (seconds)
 * override them, which is how tests make the window small.
 */
export interface RateRule {
  count: number;
  periodMs: number;
}

export const DEFAULT_RATE_RULE: RateRule = { count: 5, periodMs: 600_000 };

export class StartTimes {
  private times: number[] = [];

  /** Records a start at `now`; returns true if the rate is now critical. */
  record(now: number, rule: RateRule): boolean {
    this.times.push(now);
    const keep = Math.max(rule.count, 2);
    if (this.times.length > keep) this.times.splice(0, this.times.length - keep);
    return this.critical(rule);
  }

  critical(rule: RateRule): boolean {
    // A count below 2 has no interval to average: SMF's arithmetic would divide by zero, so never trip.
    if (rule.count < 2 || this.times.length < rule.count) return false;
    const recent = this.times.slice(-rule.count);
    const avg = (recent[recent.length - 1]! - recent[0]!) / (rule.count - 1);
    return avg < rule.periodMs;
  }

  reset(): void {
    this.times = [];
  }

  get recorded(): readonly number[] {
    return this.times;
  }
}

/** Reads the rule from a composed `startd` group's values (count, integer or time, as given). */
export function rateRuleFrom(startd: { count?: string; period?: string } | undefined): RateRule {
  const count = Number(startd?.count);
  const period = Number(startd?.period);
  return {
    count: Number.isFinite(count) && count >= 1 ? Math.floor(count) : DEFAULT_RATE_RULE.count,
    periodMs: Number.isFinite(period) && period >= 0 ? period * 1000 : DEFAULT_RATE_RULE.periodMs,
  };
}
