import { describe, expect, it } from "vitest";
import { DEFAULT_RATE_RULE, StartTimes, rateRuleFrom } from "../../src/smf/restarter/rate.ts";

const MIN = 60_000;

describe("restart rate rule (method_rate_critical)", () => {
  it("defaults to SMF's 5 starts and 10 minutes", () => {
    expect(DEFAULT_RATE_RULE).toEqual({ count: 5, periodMs: 10 * MIN });
  });

  it("is not critical before `count` starts are recorded", () => {
    const s = new StartTimes();
    for (let i = 0; i < 4; i++) expect(s.record(i, DEFAULT_RATE_RULE)).toBe(false);
    expect(s.record(4, DEFAULT_RATE_RULE)).toBe(true);
  });

  it("averages the gap between the oldest and newest of the last `count` starts", () => {
    const s = new StartTimes();
    // Gaps of 9, 9, 9 and 12 minutes: average 9.75 < 10, critical.
    for (const t of [0, 9, 18, 27]) s.record(t * MIN, DEFAULT_RATE_RULE);
    expect(s.record(39 * MIN, DEFAULT_RATE_RULE)).toBe(true);
    const t2 = new StartTimes();
    // 0, 10, 20, 30, 40: average exactly 10 minutes is not under the period.
    for (const t of [0, 10, 20, 30]) t2.record(t * MIN, DEFAULT_RATE_RULE);
    expect(t2.record(40 * MIN, DEFAULT_RATE_RULE)).toBe(false);
  });

  it("keeps only the newest `count` starts (a ring), so old quick starts age out", () => {
    const s = new StartTimes();
    for (const t of [0, 1, 2, 3]) s.record(t * MIN, DEFAULT_RATE_RULE);
    // After a long quiet spell, the window slides: 1,2,3 are still quick but 60 and 120 spread it.
    s.record(60 * MIN, DEFAULT_RATE_RULE);
    expect(s.record(120 * MIN, DEFAULT_RATE_RULE)).toBe(false);
    expect(s.recorded).toEqual([1, 2, 3, 60, 120].map((m) => m * MIN));
  });

  it("reset forgets the history (svcadm disable, restart, clear)", () => {
    const s = new StartTimes();
    for (let i = 0; i < 4; i++) s.record(i, DEFAULT_RATE_RULE);
    s.reset();
    expect(s.record(5, DEFAULT_RATE_RULE)).toBe(false);
    expect(s.recorded).toEqual([5]);
  });

  it("a count below 2 never trips (no interval to average)", () => {
    const s = new StartTimes();
    for (let i = 0; i < 10; i++) expect(s.record(i, { count: 1, periodMs: MIN })).toBe(false);
  });

  it("reads startd/critical_failure_count and critical_failure_period (seconds), falling back to the defaults", () => {
    expect(rateRuleFrom({ count: "3", period: "2" })).toEqual({ count: 3, periodMs: 2_000 });
    expect(rateRuleFrom({ count: "3", period: "0.5" })).toEqual({ count: 3, periodMs: 500 });
    expect(rateRuleFrom({ period: "0" })).toEqual({ count: 5, periodMs: 0 });
    expect(rateRuleFrom({ count: "x", period: "-1" })).toEqual(DEFAULT_RATE_RULE);
    expect(rateRuleFrom(undefined)).toEqual(DEFAULT_RATE_RULE);
  });
});
