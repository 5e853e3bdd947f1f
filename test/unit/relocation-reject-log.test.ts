/** "Rejected connection" lines: one per peer per window, then a count; peer names escaped. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { RejectLog } from "../../plugins/relocation/reject-log.ts";
import type { Logger } from "../../src/plugin/contract.ts";

function logger(lines: string[]): Logger {
  const l: Logger = {
    trace: () => {}, debug: () => {}, info: () => {}, error: () => {},
    warn: (m) => lines.push(m),
    child: () => l,
  };
  return l;
}

afterEach(() => {
  vi.useRealTimers();
});

describe("RejectLog", () => {
  it("logs the first refusal of a peer, counts the rest of the minute, and sums them up after it", () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const r = new RejectLog(logger(lines));
    for (let i = 0; i < 50; i++) r.note("127.0.0.2", "127.0.0.2");
    r.note("127.0.0.3", "evil.example", "it does not hold this host's relocation key");
    expect(lines).toEqual([
      "Rejected connection from 127.0.0.2 (127.0.0.2).",
      "Rejected connection from 127.0.0.3 (evil.example): it does not hold this host's relocation key.",
    ]);
    vi.advanceTimersByTime(60_000);
    expect(lines.slice(2)).toEqual(["Rejected connection from 127.0.0.2 (127.0.0.2) 49 more time(s) in the last 60 s."]);
    r.note("127.0.0.2", "127.0.0.2");
    expect(lines.at(-1)).toBe("Rejected connection from 127.0.0.2 (127.0.0.2).");
  });

  it("escapes a peer name from reverse DNS: no forged line", () => {
    const lines: string[] = [];
    const r = new RejectLog(logger(lines));
    r.note("10.0.0.9", "x\n[2026-01-01 00:00:00 1] INFO (xend) all is fine\u001b[2J");
    expect(lines).toEqual(["Rejected connection from 10.0.0.9 (x\\n[2026-01-01 00:00:00 1] INFO (xend) all is fine\\x1b[2J)."]);
    r.flush();
  });
});
