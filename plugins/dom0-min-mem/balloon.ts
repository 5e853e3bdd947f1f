/**
 * xend's ballooning arithmetic (tools/python/xen/xend/balloon.py, Xen 3.1/3.4), without its waiting:
 * a simulated Domain-0 gives memory back at once, so one pass decides. All amounts are KiB, as in
 * xend; dom0-min-mem is MiB in the property and KiB in the messages, as xend printed it.
 *
 *   free = total - Domain-0 - guests
 *   free >= need                  -> nothing to do
 *   dom0-min-mem = 0              -> ballooning is off (Xen 3.1's rule): refused
 *   Domain-0 - (need - free) >= min -> Domain-0's target drops to that, rounded down to a MiB
 *   otherwise                     -> refused with xend's "I need … KiB" message
 */

export interface MemoryState {
  totalKiB: number;
  /** Domain-0's current allocation. */
  dom0KiB: number;
  /** Memory held by every guest that exists (and by creations in progress). */
  guestsKiB: number;
  /** config/dom0-min-mem. */
  minMiB: number;
}

export class BalloonError extends Error {}

export function freeKiB(state: MemoryState): number {
  return state.totalKiB - state.dom0KiB - state.guestsKiB;
}

export interface BalloonResult {
  /** Domain-0's allocation afterwards (unchanged when there was room). */
  dom0KiB: number;
  /** xend's debug lines, for xend.log. */
  log: string[];
}

/** Makes `needKiB` free, ballooning Domain-0 down as far as dom0-min-mem allows, or throws BalloonError. */
export function balloonFor(needKiB: number, state: MemoryState): BalloonResult {
  const free = freeKiB(state);
  if (free >= needKiB) return { dom0KiB: state.dom0KiB, log: [`Balloon: ${free} KiB free; need ${needKiB}; done.`] };
  const minKiB = state.minMiB * 1024;
  if (minKiB === 0) {
    throw new BalloonError(
      `Not enough free memory and dom0_min_mem is 0, so I cannot release any more.  I need ${needKiB} KiB but only have ${free}.`,
    );
  }
  const newAlloc = state.dom0KiB - (needKiB - free);
  if (newAlloc < minKiB) {
    throw new BalloonError(
      `I need ${needKiB} KiB, but dom0_min_mem is ${minKiB} and shrinking to ${minKiB} KiB would leave only ${free + state.dom0KiB - minKiB} KiB free.`,
    );
  }
  const targetMiB = Math.floor(newAlloc / 1024);
  return {
    dom0KiB: targetMiB * 1024,
    log: [`Balloon: ${free} KiB free; need ${needKiB}; ballooning Domain-0 from ${state.dom0KiB} KiB.`, `Balloon: setting dom0 target to ${targetMiB} MiB.`],
  };
}

/**
 * `xm mem-set 0 <MiB>`: Domain-0 may shrink to dom0-min-mem and no further (xend refused it too),
 * and grow only into free memory. Returns Domain-0's new allocation or throws BalloonError.
 */
export function dom0Target(targetMiB: number, state: MemoryState): number {
  const targetKiB = targetMiB * 1024;
  const minKiB = state.minMiB * 1024;
  if (targetKiB < state.dom0KiB && targetKiB < minKiB) {
    throw new BalloonError(
      `Cannot set Domain-0's memory to ${targetMiB} MiB: dom0-min-mem is ${state.minMiB} MiB (config/dom0-min-mem).`,
    );
  }
  const free = freeKiB(state);
  if (targetKiB > state.dom0KiB + Math.max(0, free)) {
    throw new BalloonError(
      `Cannot grow Domain-0 to ${targetMiB} MiB: it has ${Math.floor(state.dom0KiB / 1024)} MiB and only ${Math.floor(Math.max(0, free) / 1024)} MiB is free.`,
    );
  }
  return targetKiB;
}
