/**
 * "Rejected connection" lines, at most one per peer per minute: the first refusal of a peer is
 * logged at once (`Rejected connection from <ip> (<name>).`, as xend wrote it, plus the reason
 * when it is not hosts-allow), the ones that follow within the minute are counted and summed up in
 * one line when the minute is over. A refused peer hammering the port therefore cannot rotate the
 * log's history away. Peer names come from reverse DNS (the peer's own PTR record): escaped.
 */
import { escapeText, type Logger } from "xvm/plugin";

const WINDOW_MS = 60_000;
/** Peers tracked at once; beyond this, refusals are counted under one "other peers" entry. */
const MAX_PEERS = 1024;

interface Window {
  label: string;
  count: number;
  timer: ReturnType<typeof setTimeout>;
}

export class RejectLog {
  private readonly windows = new Map<string, Window>();

  constructor(private readonly log: Logger, private readonly windowMs = WINDOW_MS) {}

  /** A refused connection from `address` (`name` from reverse DNS); `why` is left out for hosts-allow. */
  note(address: string, name: string, why?: string): void {
    const key = this.windows.size >= MAX_PEERS && !this.windows.has(address) ? "*" : address;
    const open = this.windows.get(key);
    if (open) {
      open.count++;
      return;
    }
    const label = key === "*" ? "other peers" : `${escapeText(address, 64)} (${escapeText(name, 128)})`;
    this.log.warn(`Rejected connection from ${label}${why ? `: ${escapeText(why)}` : ""}.`);
    const window: Window = {
      label,
      count: 0,
      timer: setTimeout(() => {
        this.windows.delete(key);
        if (window.count > 0) this.log.warn(`Rejected connection from ${label} ${window.count} more time(s) in the last ${Math.round(this.windowMs / 1000)} s.`);
      }, this.windowMs),
    };
    window.timer.unref?.();
    this.windows.set(key, window);
  }

  /** Writes the pending counts now (daemon stop). */
  flush(): void {
    for (const [key, w] of this.windows) {
      clearTimeout(w.timer);
      if (w.count > 0) this.log.warn(`Rejected connection from ${w.label} ${w.count} more time(s) in the last ${Math.round(this.windowMs / 1000)} s.`);
      this.windows.delete(key);
    }
  }
}
