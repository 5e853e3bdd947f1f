/** The sim driver's credit scheduler arithmetic (src/hypervisor/sim/credit.ts). */
import { describe, expect, it } from "vitest";
import { allocate, type CreditGuest } from "../../src/hypervisor/sim/credit.ts";

const busy = (affinity: number[] = []) => ({ busy: true, affinity });
const idle = (affinity: number[] = []) => ({ busy: false, affinity });
const guest = (domid: number, weight: number, cap: number, vcpus: CreditGuest["vcpus"]): CreditGuest => ({ domid, sched: { weight, cap }, vcpus });

describe("credit allocation", () => {
  it("shares one contended CPU in proportion to the weights", () => {
    const limits = allocate(4, [guest(1, 512, 0, [busy([0])]), guest(2, 256, 0, [busy([0])])]);
    expect([limits.get(1), limits.get(2)]).toEqual([[67], [33]]);
    const three = allocate(1, [guest(1, 256, 0, [busy()]), guest(2, 256, 0, [busy()]), guest(3, 512, 0, [busy()])]);
    expect([...three.values()]).toEqual([[25], [25], [50]]);
  });

  it("limits nothing without contention", () => {
    const limits = allocate(2, [guest(1, 512, 0, [busy()]), guest(2, 256, 0, [busy()])]);
    expect([...limits.values()]).toEqual([[100], [100]]);
    // Pinned to different CPUs: two pools, no contention.
    expect([...allocate(2, [guest(1, 512, 0, [busy([0])]), guest(2, 256, 0, [busy([1])])]).values()]).toEqual([[100], [100]]);
  });

  it("holds a capped guest's vCPUs to the cap together, contended or not", () => {
    expect(allocate(8, [guest(1, 256, 50, [busy(), busy()])]).get(1)).toEqual([25, 25]);
    expect(allocate(8, [guest(1, 256, 150, [busy(), busy()])]).get(1)).toEqual([75, 75]);
    // One busy vCPU uses the whole cap; the idle one is bounded by it too.
    expect(allocate(8, [guest(1, 256, 60, [busy(), idle()])]).get(1)).toEqual([60, 60]);
  });

  it("gives what a capped guest leaves to the others (work-conserving)", () => {
    const limits = allocate(1, [guest(1, 256, 20, [busy()]), guest(2, 256, 0, [busy()])]);
    expect([limits.get(1), limits.get(2)]).toEqual([[20], [80]]);
    // A guest with two busy vCPUs on two CPUs against one with one: weights by guest, then per vCPU.
    const split = allocate(2, [guest(1, 256, 0, [busy(), busy()]), guest(2, 256, 0, [busy()])]);
    expect([split.get(1), split.get(2)]).toEqual([[50, 50], [100]]);
  });

  it("leaves idle vCPUs unlimited and never goes below 1 %", () => {
    expect(allocate(1, [guest(1, 256, 0, [idle()]), guest(2, 256, 0, [busy()])]).get(1)).toEqual([100]);
    const tiny = allocate(1, [guest(1, 1, 0, [busy()]), guest(2, 65535, 0, [busy()])]);
    expect([tiny.get(1), tiny.get(2)]).toEqual([[1], [100]]);
  });
});
