/**
 * The sim driver's side of the credit scheduler: whenever something that changes who competes for
 * CPUs happens (a guest created, destroyed, paused, unpaused, stopped; vCPUs added, removed or
 * pinned; a weight or cap set; a driver attached after a restart), it asks every runner which of
 * its vCPUs want the CPU, computes the limits (credit.ts) and hands each runner whose limits
 * changed its new ones. Changes arriving together are handled in one pass.
 */
import type { SchedParams } from "../driver.ts";
import { allocate, type CreditGuest } from "./credit.ts";

export interface BalancerHost {
  /** Guests that exist now. */
  domids(): number[];
  nrCpus(): number;
  call(domid: number, cmd: string, args?: Record<string, unknown>): Promise<unknown>;
  log?(line: string): void;
}

interface SchedState {
  sched: SchedParams;
  vcpus: { busy: boolean; affinity: number[] }[];
}

export class CreditBalancer {
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;
  /** Limits last sent, per domid, so a runner only hears about a change. */
  private readonly sent = new Map<number, string>();

  constructor(private readonly host: BalancerHost) {}

  /** Something changed: rebalance soon (one pass for changes that arrive together). */
  changed(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = new Promise<void>((resolve) => setTimeout(resolve, 10))
      .then(() => this.pass())
      .catch((error) => this.host.log?.(`credit scheduler: ${(error as Error).message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.closed) {
          this.again = false;
          this.changed();
        }
      });
  }

  /** Resolves once the limits reflect every change reported so far. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** A new runner under `domid`: it starts unlimited, whatever was sent to an earlier one. */
  forget(domid: number): void {
    this.sent.delete(domid);
  }

  close(): void {
    this.closed = true;
  }

  private async pass(): Promise<void> {
    // A pass scheduled before close() does not run after it (it would reach runners through a
    // driver that no longer owns them).
    if (this.closed) return;
    const domids = this.host.domids();
    const states = await Promise.all(domids.map(async (domid) => {
      try {
        return { domid, state: (await this.host.call(domid, "schedState")) as SchedState };
      } catch {
        return undefined; // gone, or going: it competes for nothing
      }
    }));
    const guests: CreditGuest[] = states.filter((s) => s !== undefined).map(({ domid, state }) => ({ domid, sched: state.sched, vcpus: state.vcpus }));
    const limits = allocate(this.host.nrCpus(), guests);
    for (const domid of [...this.sent.keys()]) if (!limits.has(domid)) this.sent.delete(domid);
    await Promise.all([...limits].map(async ([domid, list]) => {
      const key = list.join(",");
      if (this.sent.get(domid) === key) return;
      try {
        await this.host.call(domid, "setLimits", { limits: list });
        this.sent.set(domid, key);
      } catch {
        this.sent.delete(domid);
      }
    }));
  }
}
