import { describe, expect, it } from "vitest";
import { BalloonError, balloonFor, dom0Target, freeKiB } from "../../plugins/dom0-min-mem/balloon.ts";
import { MemoryAccount, RESERVATION_LIFETIME_MS } from "../../plugins/dom0-min-mem/account.ts";

const MiB = 1024;

describe("xend's balloon arithmetic", () => {
  const host = { totalKiB: 4096 * MiB, dom0KiB: 3072 * MiB, guestsKiB: 1024 * MiB, minMiB: 196 };

  it("does nothing when enough is free", () => {
    const state = { ...host, dom0KiB: 2048 * MiB };
    expect(freeKiB(state)).toBe(1024 * MiB);
    expect(balloonFor(512 * MiB, state)).toEqual({ dom0KiB: 2048 * MiB, log: ["Balloon: 1048576 KiB free; need 524288; done."] });
  });

  it("balloons Domain-0 down by exactly what is missing, rounded down to a MiB", () => {
    expect(balloonFor(1024 * MiB, host)).toEqual({
      dom0KiB: 2048 * MiB,
      log: ["Balloon: 0 KiB free; need 1048576; ballooning Domain-0 from 3145728 KiB.", "Balloon: setting dom0 target to 2048 MiB."],
    });
    const odd = { totalKiB: 1000_000, dom0KiB: 1000_000, guestsKiB: 0, minMiB: 196 };
    const r = balloonFor(100_000, odd);
    expect(r.dom0KiB).toBe(Math.floor(900_000 / 1024) * 1024);
    expect(freeKiB({ ...odd, dom0KiB: r.dom0KiB })).toBeGreaterThanOrEqual(100_000);
  });

  it("goes down to dom0-min-mem exactly, and not a KiB further, with xend's message", () => {
    const need = (3072 - 196) * MiB;
    expect(balloonFor(need, host).dom0KiB).toBe(196 * MiB);
    expect(() => balloonFor(need + 1, host)).toThrow(BalloonError);
    expect(() => balloonFor(need + 1, host)).toThrow(
      "I need 2945025 KiB, but dom0_min_mem is 200704 and shrinking to 200704 KiB would leave only 2945024 KiB free.",
    );
  });

  it("counts what is already free in the message", () => {
    const state = { ...host, dom0KiB: 2048 * MiB }; // 1024 MiB free
    expect(() => balloonFor(4096 * MiB, state)).toThrow(
      "I need 4194304 KiB, but dom0_min_mem is 200704 and shrinking to 200704 KiB would leave only 2945024 KiB free.",
    );
  });

  it("never balloons when dom0-min-mem is 0 (Xen 3.1's rule), with xend's message", () => {
    const state = { ...host, dom0KiB: 2560 * MiB, minMiB: 0 };
    expect(balloonFor(512 * MiB, state).dom0KiB).toBe(2560 * MiB);
    expect(() => balloonFor(513 * MiB, state)).toThrow(
      "Not enough free memory and dom0_min_mem is 0, so I cannot release any more.  I need 525312 KiB but only have 524288.",
    );
  });

  it("refuses a Domain-0 below dom0-min-mem or bigger than it can grow (xm mem-set 0)", () => {
    expect(dom0Target(196, host)).toBe(196 * MiB);
    expect(() => dom0Target(195, host)).toThrow("Cannot set Domain-0's memory to 195 MiB: dom0-min-mem is 196 MiB (config/dom0-min-mem).");
    const state = { ...host, dom0KiB: 2048 * MiB };
    expect(dom0Target(3072, state)).toBe(3072 * MiB);
    expect(() => dom0Target(3073, state)).toThrow("Cannot grow Domain-0 to 3073 MiB: it has 2048 MiB and only 1024 MiB is free.");
    // Already under a raised minimum: it may still grow, just not shrink.
    const low = { ...host, dom0KiB: 100 * MiB, guestsKiB: 0 };
    expect(dom0Target(150, low)).toBe(150 * MiB);
    expect(() => dom0Target(90, low)).toThrow(BalloonError);
  });
});

describe("the host's memory account", () => {
  const guest = (name: string, mib: number) => ({ name, memoryKiB: mib * MiB });

  it("keeps a creation's memory promised until its domain is listed", () => {
    const account = new MemoryAccount({ totalKiB: 2048 * MiB, dom0KiB: 2048 * MiB, minMiB: 196 });
    account.create("a", 1024 * MiB, []);
    expect(account.dom0KiB).toBe(1024 * MiB);
    // A second creation before "a" is listed cannot count a's memory as free.
    expect(() => account.create("b", 1024 * MiB, [])).toThrow(
      "I need 1048576 KiB, but dom0_min_mem is 200704 and shrinking to 200704 KiB would leave only 847872 KiB free.",
    );
    // Once listed, "a" counts once, not twice.
    expect(account.free([guest("a", 1024)])).toBe(0);
    account.create("b", 512 * MiB, [guest("a", 1024)]);
    expect(account.dom0KiB).toBe(512 * MiB);
  });

  it("lets a promise lapse when its creation never shows up", () => {
    const account = new MemoryAccount({ totalKiB: 1024 * MiB, dom0KiB: 512 * MiB, minMiB: 0 });
    account.create("ghost", 512 * MiB, []);
    expect(account.guestsKiB([], Date.now())).toBe(512 * MiB);
    expect(account.guestsKiB([], Date.now() + RESERVATION_LIFETIME_MS + 1)).toBe(0);
    account.create("ghost2", 256 * MiB, []);
    account.settle("ghost2");
    expect(account.guestsKiB([])).toBe(0);
  });

  it("frees a destroyed guest's memory without growing Domain-0, as xend did", () => {
    const account = new MemoryAccount({ totalKiB: 2048 * MiB, dom0KiB: 1024 * MiB, minMiB: 196 });
    expect(account.free([guest("a", 1024)])).toBe(0);
    expect(account.free([])).toBe(1024 * MiB);
    account.create("b", 512 * MiB, []);
    expect(account.dom0KiB).toBe(1024 * MiB);
  });

  it("takes re-attached guests out of Domain-0's share when they do not fit", () => {
    const account = new MemoryAccount({ totalKiB: 2048 * MiB, dom0KiB: 2048 * MiB, minMiB: 196 });
    expect(account.reconcile([guest("a", 512)])).toBe(true);
    expect(account.dom0KiB).toBe(1536 * MiB);
    expect(account.reconcile([guest("a", 512)])).toBe(false);
  });

  it("changes the total: added memory is free, removed memory comes from free then Domain-0", () => {
    const account = new MemoryAccount({ totalKiB: 2048 * MiB, dom0KiB: 1024 * MiB, minMiB: 196 });
    const guests = [guest("a", 512)]; // 512 MiB free
    account.setTotal(4096 * MiB, guests);
    expect([account.totalKiB, account.dom0KiB, account.free(guests)]).toEqual([4096 * MiB, 1024 * MiB, 2560 * MiB]);
    account.setTotal(1024 * MiB, guests);
    expect([account.totalKiB, account.dom0KiB, account.free(guests)]).toEqual([1024 * MiB, 512 * MiB, 0]);
    expect(() => account.setTotal(700 * MiB, guests)).toThrow(
      "700 MiB cannot hold the guests' 512 MiB and Domain-0's minimum of 196 MiB (config/dom0-min-mem)",
    );
    expect(account.totalKiB).toBe(1024 * MiB);
    account.setTotal(708 * MiB, guests);
    expect(account.dom0KiB).toBe(196 * MiB);
  });

  it("grows a guest by ballooning Domain-0, and sets Domain-0 by mem-set", () => {
    const account = new MemoryAccount({ totalKiB: 2048 * MiB, dom0KiB: 1536 * MiB, minMiB: 196 });
    const guests = [guest("a", 512)];
    account.grow(256 * MiB, guests);
    expect(account.dom0KiB).toBe(1280 * MiB);
    account.setDom0(1000, guests);
    expect(account.dom0KiB).toBe(1000 * MiB);
    expect(() => account.setDom0(100, guests)).toThrow("dom0-min-mem is 196 MiB");
  });
});
