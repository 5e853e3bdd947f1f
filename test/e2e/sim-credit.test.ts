/**
 * The sim driver's credit scheduler with runners from the compiled binary: weights share a
 * contended CPU in proportion, a cap holds a guest's vCPUs together, and the limits follow pause,
 * unpause, vcpu-set, a new weight and a driver re-attach.
 *
 * What is measured is the guest time each vCPU of a sim:busy guest ran (it adds it up in its own
 * memory): the time the scheduler granted, with a tolerance. The host CPU time that follows from
 * it (xm list, xm top) is not asserted: on a loaded test machine the host, not the scheduler,
 * decides how much of a granted slice a thread really gets.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GuestSpec } from "../../src/hypervisor/driver.ts";
import { createSimDriver, type SimDriver } from "../../src/hypervisor/sim/driver.ts";
import { OFF_BUSY } from "../../src/hypervisor/sim/programs.ts";
import { Paths } from "../../src/paths.ts";
import { cleanupRoot, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";

function spec(domid: number, over: Partial<GuestSpec> = {}): GuestSpec {
  return {
    domid, name: `busy${domid}`, uuid: `00000000-0000-4000-8000-${String(domid).padStart(12, "0")}`,
    memoryKiB: 16 * 1024, maxMemKiB: 16 * 1024, vcpus: 1, maxVcpus: 2, kernel: "sim:busy", extra: "",
    affinity: [], paused: false, meta: { config: { name: `busy${domid}` } }, ...over,
  };
}

let root: string;
let driver: SimDriver;

beforeAll(() => {
  root = tempRoot("xvm-credit-");
  driver = createSimDriver({ paths: new Paths(root), command: [xvmBin()] });
});

afterAll(async () => {
  await driver?.close();
  await cleanupRoot(root);
});

/** Microseconds of guest time each online vCPU of a sim:busy guest has run. */
async function guestUs(domid: number, vcpus: number): Promise<number[]> {
  const page = await driver.readPages(domid, [0]);
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  return Array.from({ length: vcpus }, (_, v) => Number(view.getBigUint64(OFF_BUSY + 8 * v, true)));
}

/** Guest time run by each domain from now until the first has run `us` more (an observation window). */
async function window(domids: number[], vcpus: number, us: number): Promise<{ ran: number[]; wallUs: number }> {
  const sum = async (d: number) => (await guestUs(d, vcpus)).reduce((a, b) => a + b, 0);
  const start = await Promise.all(domids.map(sum));
  const t0 = performance.now();
  await waitFor(async () => (await sum(domids[0]!)) - start[0]! >= us, "guest time to accumulate", 120_000, 100);
  const end = await Promise.all(domids.map(sum));
  return { ran: end.map((e, i) => e - start[i]!), wallUs: (performance.now() - t0) * 1000 };
}

describe("sim credit scheduler", () => {
  it("shares one contended CPU by weight (512 : 256 = 2 : 1)", async () => {
    await driver.create(spec(1, { affinity: [[0]], sched: { weight: 512, cap: 0 } }));
    await driver.create(spec(2, { affinity: [[0]], sched: { weight: 256, cap: 0 } }));
    expect([await driver.schedLimits(1), await driver.schedLimits(2)]).toEqual([[67], [33]]);
    const { ran } = await window([1, 2], 1, 1_500_000);
    // 2 when the host keeps up; a loaded host drops late timeslices, more of the busier guest's.
    const ratio = ran[0]! / ran[1]!;
    expect(ratio).toBeGreaterThan(1.2);
    expect(ratio).toBeLessThan(2.9);
  });

  it("follows a new weight, pause and unpause at once", async () => {
    await driver.setSchedParams(1, { weight: 256, cap: 0 });
    expect([await driver.schedLimits(1), await driver.schedLimits(2)]).toEqual([[50], [50]]);
    expect((await driver.info(1)).sched).toEqual({ weight: 256, cap: 0 });
    await driver.pause(2);
    expect(await driver.schedLimits(1)).toEqual([100]);
    await driver.unpause(2);
    expect(await driver.schedLimits(1)).toEqual([50]);
    await driver.destroy(2);
    expect(await driver.schedLimits(1)).toEqual([100]);
    await driver.destroy(1);
  });

  it("holds a capped guest's vCPUs to the cap together", async () => {
    await driver.create(spec(3, { vcpus: 2, sched: { weight: 256, cap: 50 } }));
    expect(await driver.schedLimits(3)).toEqual([25, 25]);
    const { ran, wallUs } = await window([3], 2, 1_000_000);
    // Two vCPUs at 25 % each: half of the wall time at most (a little slack for the window's edges).
    expect(ran[0]! / wallUs).toBeLessThan(0.6);
    const perVcpu = await guestUs(3, 2);
    expect(perVcpu.every((us) => us > 0)).toBe(true);
    // One vCPU left: the whole cap goes to it.
    await driver.setVcpus(3, 1);
    expect(await driver.schedLimits(3)).toEqual([50]);
  });

  it("keeps weight and cap across a driver re-attach", async () => {
    await driver.close();
    driver = createSimDriver({ paths: new Paths(root), command: [xvmBin()] });
    const [g] = await driver.list();
    expect(g!.sched).toEqual({ weight: 256, cap: 50 });
    expect(await driver.schedLimits(3)).toEqual([50]);
    await driver.destroy(3);
  });

  it("leaves guests that do not want the CPU unlimited", async () => {
    await driver.create(spec(4, { kernel: "sim:counter", affinity: [[0]] }));
    await driver.create(spec(5, { affinity: [[0]], sched: { weight: 1, cap: 0 } }));
    expect([await driver.schedLimits(4), await driver.schedLimits(5)]).toEqual([[100], [100]]);
    await driver.destroy(4);
    await driver.destroy(5);
  });
});
