/**
 * Waiting on a QEMU that reports by events but is polled too (an event may be missed, or come
 * while a query is out): `nap(ms)` waits up to `ms`, less if `wake()` is called meanwhile, and not at
 * all if it was called since the last nap — so no event falls between two waits.
 */
export interface EventNap {
  wake(): void;
  nap(ms: number): Promise<void>;
}

export function eventNap(): EventNap {
  let woken = false;
  let wakeUp: (() => void) | undefined;
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    nap(ms) {
      return new Promise<void>((resolve) => {
        if (woken) {
          woken = false;
          return resolve();
        }
        const timer = setTimeout(() => {
          wakeUp = undefined;
          resolve();
        }, ms);
        wakeUp = () => {
          clearTimeout(timer);
          wakeUp = undefined;
          woken = false;
          resolve();
        };
      });
    },
  };
}
