/**
 * Progress of a long transfer as xm shows it (issue 17.10): on a terminal one line rewritten in
 * place with the percentage and an ETA (`Saving web1:  45% (115/256 MiB), ETA 0:03`); on a pipe
 * or a log, plain lines, one every few seconds and one at each new phase
 * (`Saving web1: 115/256 MiB (45%)`). Used by xm save, restore, suspend and resume; the line
 * itself is ./progress.ts's ProgressLine.
 */
import type { Writable } from "node:stream";
import { ProgressLine, isTerminal } from "./progress.ts";

const MiB = 2 ** 20;
/** A pipe gets a line this often at most (besides one per phase). */
export const PLAIN_EVERY_MS = 3_000;

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60));
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

/** `12/40 KiB` below 1 MiB, `1.5/8.0 MiB` below 10 MiB, whole MiB above. */
export function amount(done: number, total: number): string {
  if (total < MiB) return `${Math.round(done / 1024)}/${Math.round(total / 1024)} KiB`;
  const f = (n: number) => (total < 10 * MiB ? (n / MiB).toFixed(1) : (n / MiB).toFixed(0));
  return `${f(done)}/${f(total)} MiB`;
}

export function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
}

/** ETA from the rate so far: unknown (`--:--`) until a tenth of a second of data. */
export function eta(done: number, total: number, elapsedMs: number): string {
  if (done >= total) return "0:00";
  if (done <= 0 || elapsedMs < 100) return "--:--";
  return clock(((total - done) / done) * (elapsedMs / 1000));
}

export function terminalText(label: string, done: number, total: number, elapsedMs: number): string {
  return `${label}: ${String(percent(done, total)).padStart(3)}% (${amount(done, total)}), ETA ${eta(done, total, elapsedMs)}`;
}

export function plainText(label: string, done: number, total: number): string {
  return `${label}: ${amount(done, total)} (${percent(done, total)}%)`;
}

export class TransferProgress {
  private readonly line: ProgressLine;
  private readonly tty: boolean;
  private phase = "";
  private phaseStart = 0;

  /** `now` is the clock (tests pass their own: Bun's test runner has no fake system time). */
  constructor(out: Writable, tty = isTerminal(out), plainEveryMs = PLAIN_EVERY_MS, private readonly now: () => number = Date.now) {
    this.tty = tty;
    this.line = new ProgressLine(out, tty, plainEveryMs, now);
  }

  /** `label` names the phase (`Saving web1`, `Checking /tmp/web1.save`): a new one restarts the ETA. */
  update(label: string, done: number, total: number): void {
    const now = this.now();
    if (label !== this.phase) {
      if (this.tty && this.phase) this.line.end();
      this.phase = label;
      this.phaseStart = now;
    }
    this.line.update(this.tty ? terminalText(label, done, total, now - this.phaseStart) : plainText(label, done, total), label);
  }

  end(): void {
    this.line.end();
  }
}
