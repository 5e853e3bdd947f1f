/**
 * The host's memory as xend accounted it: a total, Domain-0's allocation, the guests' memory, and
 * free = total - Domain-0 - guests. Domain-0 starts holding everything no guest holds; creating or
 * growing a guest balloons it down (never below dom0-min-mem); memory a guest gives back becomes
 * free, and Domain-0 only grows again when told to (`xm mem-set 0`), as with xend.
 */
import { BalloonError, balloonFor, dom0Target, freeKiB, type MemoryState } from "./balloon.ts";

export interface Guest {
  name: string;
  memoryKiB: number;
}

/** A creation whose memory is promised but whose domain is not listed yet. */
interface Reservation {
  kib: number;
  at: number;
}

/**
 * A creation that failed after the hooks leaves no trace for a hook to see, so a promise not
 * redeemed by then lapses.
 */
export const RESERVATION_LIFETIME_MS = 60_000;

export class MemoryAccount {
  totalKiB: number;
  dom0KiB: number;
  minMiB: number;
  private readonly reservations = new Map<string, Reservation>();

  constructor(init: { totalKiB: number; dom0KiB: number; minMiB: number }) {
    this.totalKiB = init.totalKiB;
    this.dom0KiB = init.dom0KiB;
    this.minMiB = init.minMiB;
  }

  /** Guests' memory, counting reservations of creations not listed yet. */
  guestsKiB(guests: readonly Guest[], now = Date.now()): number {
    const listed = new Set(guests.map((g) => g.name));
    let sum = guests.reduce((s, g) => s + g.memoryKiB, 0);
    for (const [name, r] of this.reservations) {
      if (listed.has(name) || now - r.at > RESERVATION_LIFETIME_MS) this.reservations.delete(name);
      else sum += r.kib;
    }
    return sum;
  }

  state(guests: readonly Guest[], now?: number): MemoryState {
    return { totalKiB: this.totalKiB, dom0KiB: this.dom0KiB, guestsKiB: this.guestsKiB(guests, now), minMiB: this.minMiB };
  }

  free(guests: readonly Guest[]): number {
    return freeKiB(this.state(guests));
  }

  /**
   * Guests that appeared without being ballooned for (re-attached after a restart, or a total made
   * smaller) may leave less than nothing free: Domain-0 is then taken to hold only the rest.
   * Returns true when Domain-0 changed.
   */
  reconcile(guests: readonly Guest[]): boolean {
    const free = this.free(guests);
    if (free >= 0) return false;
    this.dom0KiB = Math.max(0, this.dom0KiB + free);
    return true;
  }

  /** Makes room for a new guest (reserved under its name until it is listed); throws BalloonError. */
  create(name: string, needKiB: number, guests: readonly Guest[]): string[] {
    const result = balloonFor(needKiB, this.state(guests));
    this.dom0KiB = result.dom0KiB;
    this.reservations.set(name, { kib: needKiB, at: Date.now() });
    return result.log;
  }

  /** A guest grows by `growKiB` (mem-set): room is made as for a creation; throws BalloonError. */
  grow(growKiB: number, guests: readonly Guest[]): string[] {
    const result = balloonFor(growKiB, this.state(guests));
    this.dom0KiB = result.dom0KiB;
    return result.log;
  }

  /** `xm mem-set 0 <MiB>`; throws BalloonError. */
  setDom0(targetMiB: number, guests: readonly Guest[]): void {
    this.dom0KiB = dom0Target(targetMiB, this.state(guests));
  }

  settle(name: string): void {
    this.reservations.delete(name);
  }

  /**
   * A new total (config/host-memory): memory added is free; memory taken away comes out of free
   * memory first, then out of Domain-0, which must keep dom0-min-mem. Throws BalloonError.
   */
  setTotal(totalKiB: number, guests: readonly Guest[]): void {
    const guestsKiB = this.guestsKiB(guests);
    const free = this.totalKiB - this.dom0KiB - guestsKiB + (totalKiB - this.totalKiB);
    const dom0 = free >= 0 ? this.dom0KiB : this.dom0KiB + free;
    const minKiB = this.minMiB * 1024;
    if (dom0 < Math.min(minKiB, this.dom0KiB)) {
      throw new BalloonError(
        `${Math.floor(totalKiB / 1024)} MiB cannot hold the guests' ${Math.ceil(guestsKiB / 1024)} MiB and Domain-0's minimum of ${this.minMiB} MiB (config/dom0-min-mem)`,
      );
    }
    this.totalKiB = totalKiB;
    this.dom0KiB = dom0;
  }
}

export { BalloonError };
