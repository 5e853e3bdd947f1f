/**
 * A guest's info as the domain manager last had it, so that listing N domains does not cost N
 * round trips to N guest processes on every request (issue 16 §3: the legacy `GET
 * /xend/domain?detail=1` and `xm list` ask for every domain each time).
 *
 * {@link withInfoCache} wraps the driver xend uses (the manager's and the plugins' alike). Its
 * `info()` is unchanged — always a fresh answer, which is then remembered — and
 * {@link recentInfo} (what listings use) answers from memory:
 *
 * - an answer younger than {@link RECENT_INFO_MS} is given as it is; one younger than
 *   {@link STALE_INFO_MS} is given while a fresh one is asked for in the background; older, the
 *   caller waits for a fresh one. Requests that arrive while an answer is on its way share it;
 * - every other driver call naming the guest (pause, balloon, destroy, a migration…) forgets what
 *   was remembered, when the call starts and again when it ends, and so does every call on an
 *   object such a call returned (an incoming migration's commit or abort);
 * - every event the driver reports about the guest but console output (shutdown, crash, lost)
 *   forgets it.
 *
 * So what xend did to a guest, and what the guest did on its own that the driver reports, shows at
 * once; only the figures that change by themselves — CPU time, and whether a vCPU happens to be
 * running or blocked at that instant — can be older than the request: usually by 0.25 s and one
 * round trip, at most by 1 s.
 */
import type { GuestEvent, GuestInfo, HypervisorDriver } from "./driver.ts";

/** How old a remembered answer may be and still be given as it is. */
export const RECENT_INFO_MS = 250;
/**
 * How old it may be when it is given while a fresh one is asked for in the background (so that a
 * listing does not wait for N guest processes to be scheduled on a busy host); an older one is
 * never given.
 */
export const STALE_INFO_MS = 1_000;

const RECENT = Symbol("recentInfo");

/**
 * Driver members whose first argument is a number but not a domain id. Every other call with a
 * number first names a guest and forgets its info (a member missing here costs round trips,
 * never a stale answer). guestOverheadKiB(maxVcpus) is asked on every listing (Domain-0's memory).
 */
const NOT_A_GUEST = new Set<string | symbol>(["guestOverheadKiB"]);

interface Entry {
  generation: number;
  info?: GuestInfo;
  /** When the request that produced `info` was sent (performance.now()). */
  askedAt: number;
  pending?: Promise<GuestInfo>;
}

class InfoCache {
  private readonly entries = new Map<number, Entry>();
  private readonly generations = new Map<number, number>();

  constructor(private readonly fetch: (domid: number) => Promise<GuestInfo>, private readonly now: () => number) {}

  forget(domid: number): void {
    this.generations.set(domid, (this.generations.get(domid) ?? 0) + 1);
    this.entries.delete(domid);
  }

  private current(domid: number): Entry | undefined {
    const entry = this.entries.get(domid);
    return entry && entry.generation === (this.generations.get(domid) ?? 0) ? entry : undefined;
  }

  /** A fresh answer, remembered unless something happened to the guest meanwhile. */
  fresh(domid: number): Promise<GuestInfo> {
    let entry = this.current(domid);
    if (!entry) {
      entry = { generation: this.generations.get(domid) ?? 0, askedAt: 0 };
      this.entries.set(domid, entry);
    }
    const e = entry;
    const askedAt = this.now();
    const pending = this.fetch(domid);
    e.pending = pending;
    const settle = (info?: GuestInfo) => {
      // forget() replaced the entry: what was asked before the change is not kept.
      if (this.entries.get(domid) !== e || e.pending !== pending) return;
      e.pending = undefined;
      if (info) {
        e.info = info;
        e.askedAt = askedAt;
      }
    };
    pending.then(settle, () => settle());
    return pending;
  }

  private readonly soon = new Set<number>();

  /**
   * Asks again once the current turn of the event loop is over: the listing that found the answer
   * old is answered first, instead of after N requests written to N runners.
   */
  private refreshSoon(domid: number, entry: Entry): void {
    if (entry.pending || this.soon.has(domid)) return;
    this.soon.add(domid);
    setTimeout(() => {
      this.soon.delete(domid);
      if (this.current(domid) === entry && !entry.pending) this.fresh(domid).catch(() => undefined);
    }, 0);
  }

  recent(domid: number, maxAgeMs: number, staleMs: number): Promise<GuestInfo> {
    const entry = this.current(domid);
    if (entry?.info) {
      const age = this.now() - entry.askedAt;
      if (age <= maxAgeMs) return Promise.resolve(entry.info);
      if (age <= staleMs) {
        this.refreshSoon(domid, entry);
        return Promise.resolve(entry.info);
      }
    }
    return entry?.pending ?? this.fresh(domid);
  }
}

/** Calls on `value` (an object a guest's call returned) forget that guest when they start and end. */
function forgetting<T>(value: T, forget: () => void): T {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
  if (!Object.values(value).some((v) => typeof v === "function")) return value;
  return new Proxy(value as object, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        forget();
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
        if (out instanceof Promise) return out.finally(forget);
        forget();
        return out;
      };
    },
  }) as T;
}

/** The driver with its guests' info remembered (see the top of this file). */
export function withInfoCache(driver: HypervisorDriver, now: () => number = () => performance.now()): HypervisorDriver {
  const cache = new InfoCache((domid) => driver.info(domid), now);
  // One wrapper per member, made on first use (listings reach the driver once per domain).
  const made = new Map<string | symbol, { of: unknown; fn: unknown }>();
  const recent = (domid: number, maxAgeMs: number, staleMs: number) => cache.recent(domid, maxAgeMs, staleMs);
  const wrap = (target: HypervisorDriver, prop: string | symbol, v: (...a: unknown[]) => unknown): unknown => {
    if (prop === "info") return (domid: number) => cache.fresh(domid);
    if (prop === "subscribe") {
      return (listener: (event: GuestEvent) => void) =>
        target.subscribe((event) => {
          // Console output changes nothing info reports.
          if (event.type !== "console") cache.forget(event.domid);
          listener(event);
        });
    }
    if (NOT_A_GUEST.has(prop)) return v.bind(target);
    return (...args: unknown[]) => {
      const domid = typeof args[0] === "number" ? args[0] : undefined;
      if (domid === undefined) return v.apply(target, args);
      const forget = () => cache.forget(domid);
      forget();
      const out = v.apply(target, args);
      if (!(out instanceof Promise)) {
        forget();
        return forgetting(out, forget);
      }
      return out.then(
        (result) => {
          forget();
          return forgetting(result, forget);
        },
        (error: unknown) => {
          forget();
          throw error;
        },
      );
    };
  };
  return new Proxy(driver, {
    get(target, prop) {
      if (prop === RECENT) return recent;
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      const kept = made.get(prop);
      if (kept?.of === v) return kept.fn;
      const fn = wrap(target, prop, v as (...a: unknown[]) => unknown);
      made.set(prop, { of: v, fn });
      return fn;
    },
  });
}

/**
 * The guest's info, from memory if the driver remembers an answer younger than `maxAgeMs` with
 * nothing done to the guest since, or one younger than `staleMs` while it asks again in the
 * background (a driver not wrapped by {@link withInfoCache} always asks).
 */
export function recentInfo(driver: HypervisorDriver, domid: number, maxAgeMs = RECENT_INFO_MS, staleMs = STALE_INFO_MS): Promise<GuestInfo> {
  const recent = (driver as unknown as Record<symbol, ((domid: number, maxAgeMs: number, staleMs: number) => Promise<GuestInfo>) | undefined>)[RECENT];
  return recent ? recent(domid, maxAgeMs, staleMs) : driver.info(domid);
}
