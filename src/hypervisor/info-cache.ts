/**
 * A guest's info as the domain manager last had it, so that listing N domains does not cost N
 * round trips to N guest processes on every request (issue 16 §3: the legacy `GET
 * /xend/domain?detail=1` and `xm list` ask for every domain each time).
 *
 * {@link withInfoCache} wraps the driver xend uses (the manager's and the plugins' alike). Its
 * `info()` is unchanged — always a fresh answer, which is then remembered — and
 * {@link recentInfo} answers from memory when the remembered answer is younger than
 * {@link RECENT_INFO_MS} and nothing happened to that guest since:
 *
 * - every other driver call naming the guest (pause, balloon, destroy, a migration…) forgets it,
 *   when the call starts and again when it ends, and so does every call on an object such a call
 *   returned (an incoming migration's commit or abort);
 * - every event the driver reports about the guest but console output (shutdown, crash, lost)
 *   forgets it;
 * - requests that arrive while an answer is on its way share that answer (one round trip).
 *
 * So the only figures that can be older than the request are those that change on their own — CPU
 * time and whether a vCPU happens to be running or blocked — and by at most RECENT_INFO_MS.
 */
import type { GuestEvent, GuestInfo, HypervisorDriver } from "./driver.ts";

/** How old a remembered answer may be (below `xm list`'s 0.1 s resolution of CPU time). */
export const RECENT_INFO_MS = 100;

const RECENT = Symbol("recentInfo");

interface Entry {
  generation: number;
  /** When the request that produced it was sent (performance.now()). */
  askedAt: number;
  info?: GuestInfo;
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

  /** A fresh answer, remembered unless something happened to the guest meanwhile. */
  fresh(domid: number): Promise<GuestInfo> {
    const entry: Entry = { generation: this.generations.get(domid) ?? 0, askedAt: this.now() };
    const pending = this.fetch(domid);
    entry.pending = pending;
    this.entries.set(domid, entry);
    pending.then(
      (info) => {
        if (this.entries.get(domid) !== entry) return;
        entry.info = info;
        entry.pending = undefined;
      },
      () => {
        if (this.entries.get(domid) === entry) this.entries.delete(domid);
      },
    );
    return pending;
  }

  recent(domid: number, maxAgeMs: number): Promise<GuestInfo> {
    const entry = this.entries.get(domid);
    if (entry && entry.generation === (this.generations.get(domid) ?? 0)) {
      if (entry.pending) return entry.pending;
      if (entry.info && this.now() - entry.askedAt <= maxAgeMs) return Promise.resolve(entry.info);
    }
    return this.fresh(domid);
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
  const wrapped = new Proxy(driver, {
    get(target, prop) {
      if (prop === RECENT) return (domid: number, maxAgeMs: number) => cache.recent(domid, maxAgeMs);
      const v = Reflect.get(target, prop) as unknown;
      if (typeof v !== "function") return v;
      if (prop === "info") return (domid: number) => cache.fresh(domid);
      if (prop === "subscribe") {
        return (listener: (event: GuestEvent) => void) =>
          target.subscribe((event) => {
            // Console output changes nothing info reports.
            if (event.type !== "console") cache.forget(event.domid);
            listener(event);
          });
      }
      return (...args: unknown[]) => {
        const domid = typeof args[0] === "number" ? args[0] : undefined;
        if (domid === undefined) return (v as (...a: unknown[]) => unknown).apply(target, args);
        const forget = () => cache.forget(domid);
        forget();
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
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
    },
  });
  return wrapped;
}

/**
 * The guest's info, from memory if the driver remembers an answer younger than `maxAgeMs` with
 * nothing done to the guest since (a driver not wrapped by {@link withInfoCache} always asks).
 */
export function recentInfo(driver: HypervisorDriver, domid: number, maxAgeMs = RECENT_INFO_MS): Promise<GuestInfo> {
  const recent = (driver as unknown as Record<symbol, ((domid: number, maxAgeMs: number) => Promise<GuestInfo>) | undefined>)[RECENT];
  return recent ? recent(domid, maxAgeMs) : driver.info(domid);
}
