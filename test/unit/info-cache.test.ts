// src/hypervisor/info-cache.ts: which answers a listing may reuse, with a driver double and a
// clock the test moves (no timing in the test itself).
import { describe, expect, it } from "vitest";
import type { GuestEvent, GuestInfo, HypervisorDriver } from "../../src/hypervisor/driver.ts";
import { recentInfo, withInfoCache } from "../../src/hypervisor/info-cache.ts";
import { waitFor } from "../helpers/cli.ts";

function double() {
  let asked = 0;
  let listener: ((e: GuestEvent) => void) | undefined;
  const waiting: (() => void)[] = [];
  let hold = false;
  const driver = {
    async info(domid: number) {
      asked++;
      const n = asked;
      if (hold) await new Promise<void>((r) => waiting.push(r));
      return { domid, cpuTimeNs: n } as unknown as GuestInfo;
    },
    async pause() {},
    guestOverheadKiB(maxVcpus: number) {
      return 1024 * maxVcpus;
    },
    async prepareIncoming() {
      return { commit: async () => {}, abort: async () => {} };
    },
    subscribe(l: (e: GuestEvent) => void) {
      listener = l;
      return () => undefined;
    },
  } as unknown as HypervisorDriver;
  return {
    driver,
    asked: () => asked,
    emit: (e: GuestEvent) => listener?.(e),
    hold: (on: boolean) => (hold = on),
    release: () => waiting.splice(0).forEach((r) => r()),
  };
}

describe("info cache", () => {
  it("reuses an answer younger than 0.25 s, gives one younger than 1 s while asking again, waits beyond", async () => {
    let t = 0;
    const d = double();
    const w = withInfoCache(d.driver, () => t);
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(1);
    t = 250;
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(1);
    expect(d.asked()).toBe(1);
    t = 500; // stale: the old answer now, a fresh one asked for once this turn is over
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(1);
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(1);
    await waitFor(() => d.asked() === 2, "the background refresh");
    await waitFor(async () => (await recentInfo(w, 1)).cpuTimeNs === 2, "the refreshed answer");
    expect(d.asked()).toBe(2);
    t = 2000; // too old: waits for a fresh one
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(3);
  });

  it("forgets a guest on any other call naming it, on objects such calls return, and on its events", async () => {
    const t = 0;
    const d = double();
    const w = withInfoCache(d.driver, () => t);
    w.subscribe(() => undefined);
    await recentInfo(w, 1);
    await recentInfo(w, 2);
    // guestOverheadKiB's number is a vCPU count, not a guest: nothing is forgotten.
    expect(w.guestOverheadKiB!(1)).toBe(1024);
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(1);
    await w.pause(1);
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(3);
    expect((await recentInfo(w, 2)).cpuTimeNs).toBe(2);
    const incoming = await w.prepareIncoming!(2, {} as never);
    await recentInfo(w, 2);
    const before = d.asked();
    await incoming.commit(true);
    await recentInfo(w, 2);
    expect(d.asked()).toBe(before + 1);
    d.emit({ type: "console", domid: 2, data: "x" });
    await recentInfo(w, 2);
    expect(d.asked()).toBe(before + 1);
    d.emit({ type: "shutdown", domid: 2, reason: "poweroff" });
    await recentInfo(w, 2);
    expect(d.asked()).toBe(before + 2);
  });

  it("concurrent askers share one round trip; an answer asked before a change is not kept", async () => {
    const t = 0;
    const d = double();
    const w = withInfoCache(d.driver, () => t);
    d.hold(true);
    const a = recentInfo(w, 1);
    const b = recentInfo(w, 1);
    expect(d.asked()).toBe(1);
    await w.pause(1); // while the answer is on its way
    d.release();
    await Promise.all([a, b]);
    d.hold(false);
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(2);
    // info() always asks, and what it gets is remembered
    expect((await w.info(1)).cpuTimeNs).toBe(3);
    expect((await recentInfo(w, 1)).cpuTimeNs).toBe(3);
  });
});
