/** When pre-copy stops and how auto-converge throttles (QEMU's rule, libxc's limits). */
import { describe, expect, it } from "vitest";
import { PrecopyPolicy, type RoundFigures } from "../../src/hypervisor/sim/migration/policy.ts";

const PAGE = 4096;
const MEM = 2 * 2 ** 30;

function round(r: number, dirtyPages: number, roundBytes: number, roundMs: number, totalBytes = MEM + roundBytes): RoundFigures {
  return { round: r, dirtyPages, pageSize: PAGE, roundBytes, roundMs, totalBytes, memoryBytes: MEM };
}

const policy = (over: Partial<{ maxDowntimeMs: number; maxIterations: number; maxFactor: number; autoConverge: boolean }> = {}) =>
  new PrecopyPolicy({ maxDowntimeMs: 300, maxIterations: 29, maxFactor: 3, autoConverge: true, ...over });

describe("pre-copy policy", () => {
  it("stops once the dirty bytes fit in the downtime target at the measured bandwidth", () => {
    const p = policy();
    // 1 GB/s = 1e6 bytes/ms: 300 ms carry 3e8 bytes = 73242 pages.
    const go = p.afterRound(round(1, 80_000, 1e9, 1000));
    expect(go).toMatchObject({ stop: false, bandwidth: 1e6 });
    expect(go.expectedDowntimeMs).toBeCloseTo((80_000 * PAGE) / 1e6);
    const stop = p.afterRound(round(2, 70_000, 5e8, 500));
    expect(stop.stop).toBe(true);
    expect(stop.reason).toBe("the 70000 dirty pages fit in the 300 ms downtime target");
  });

  it("keeps the last good bandwidth estimate when a round is too short to measure", () => {
    const p = policy({ maxDowntimeMs: 1 });
    p.afterRound(round(1, 100_000, 1e9, 1000));
    const d = p.afterRound(round(2, 60, 10, 1));
    expect(d.bandwidth).toBe(1e6);
  });

  it("stops below 50 dirty pages, after the iteration limit, or once 3x memory was sent (libxc)", () => {
    expect(policy({ maxDowntimeMs: 1 }).afterRound(round(1, 49, 1e6, 1000)).reason).toBe("fewer than 50 dirty pages");
    const p = policy({ maxDowntimeMs: 1, autoConverge: false });
    for (let r = 1; r < 29; r++) expect(p.afterRound(round(r, 10_000, 1e6, 1000, MEM)).stop).toBe(false);
    expect(p.afterRound(round(29, 10_000, 1e6, 1000, MEM)).reason).toBe("iteration limit (29 rounds) reached");
    expect(policy({ maxDowntimeMs: 1 }).afterRound(round(2, 10_000, 1e6, 1000, 3 * MEM + 1)).reason).toBe("3× the guest's memory sent");
  });

  it("throttles 20 %, then 10 % more, up to 99 %, after two rounds that dirty over half what they sent", () => {
    const p = policy({ maxDowntimeMs: 1, maxIterations: 100, maxFactor: 1000 });
    const seen: number[] = [];
    // Each round sends 1e6 bytes and dirties 200 pages (819200 bytes > 50 %).
    for (let r = 1; r <= 24; r++) seen.push(p.afterRound(round(r, 200, 1e6, 100, MEM)).throttle);
    expect(seen).toEqual([0, 20, 20, 30, 30, 40, 40, 50, 50, 60, 60, 70, 70, 80, 80, 90, 90, 99, 99, 99, 99, 99, 99, 99]);
  });

  it("does not throttle a guest that dirties less than half of what a round sends, nor with auto-converge off", () => {
    const p = policy({ maxDowntimeMs: 1 });
    for (let r = 1; r <= 5; r++) expect(p.afterRound(round(r, 100, 1e6, 100, MEM)).throttle).toBe(0);
    const off = policy({ maxDowntimeMs: 1, autoConverge: false });
    for (let r = 1; r <= 5; r++) expect(off.afterRound(round(r, 200, 1e6, 100, MEM)).throttle).toBe(0);
  });
});
