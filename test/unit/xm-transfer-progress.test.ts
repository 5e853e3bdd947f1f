/** xm's save/restore progress (src/cli/xm/transfer-progress.ts): ETA on a terminal, sparse plain lines on a pipe. */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { amount, eta, PLAIN_EVERY_MS, terminalText, TransferProgress } from "../../src/cli/xm/transfer-progress.ts";

const MiB = 2 ** 20;

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = "";
  out.setEncoding("utf8").on("data", (d: string) => (text += d));
  return { out, text: () => text };
}

describe("transfer progress", () => {
  it("formats amounts and ETAs", () => {
    expect(amount(4096, 8192)).toBe("4/8 KiB");
    expect(amount(1.5 * MiB, 8 * MiB)).toBe("1.5/8.0 MiB");
    expect(amount(115 * MiB, 256 * MiB)).toBe("115/256 MiB");
    expect(eta(0, 100, 5000)).toBe("--:--");
    expect(eta(50, 100, 3000)).toBe("0:03");
    expect(eta(1, 100, 60_000)).toBe("1:39:00");
    expect(eta(100, 100, 10)).toBe("0:00");
    expect(terminalText("Saving web1", 115 * MiB, 256 * MiB, 2000)).toBe("Saving web1:  44% (115/256 MiB), ETA 0:02");
  });

  it("rewrites one line with percentage and ETA on a terminal", () => {
    let clock = 1_000_000;
    const { out, text } = capture();
    const p = new TransferProgress(out, true, PLAIN_EVERY_MS, () => clock);
    p.update("Saving web1", 0, 100 * MiB);
    clock = 1_002_000;
    p.update("Saving web1", 50 * MiB, 100 * MiB);
    p.end();
    expect(text()).toBe("\rSaving web1:   0% (0/100 MiB), ETA --:--\x1b[K\rSaving web1:  50% (50/100 MiB), ETA 0:02\x1b[K\n");
  });

  it("prints a plain line every few seconds on a pipe, and one at each new phase", () => {
    let clock = 1_000_000;
    const { out, text } = capture();
    const p = new TransferProgress(out, false, PLAIN_EVERY_MS, () => clock);
    p.update("Checking f", 10 * MiB, 100 * MiB);
    for (let t = 1; t < PLAIN_EVERY_MS; t += 100) {
      clock = 1_000_000 + t;
      p.update("Checking f", 20 * MiB, 100 * MiB);
    }
    clock = 1_000_000 + PLAIN_EVERY_MS;
    p.update("Checking f", 30 * MiB, 100 * MiB);
    p.update("Restoring f", 1 * MiB, 100 * MiB);
    p.end();
    expect(text()).toBe("Checking f: 10/100 MiB (10%)\nChecking f: 30/100 MiB (30%)\nRestoring f: 1/100 MiB (1%)\n");
  });
});
