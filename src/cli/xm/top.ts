/**
 * `xm top`: the host and its domains in real time, as xentop showed them (3.4's `xm top` ran
 * xentop). On a terminal the screen is redrawn every -d seconds (1 by default) and keys toggle the
 * detail lines (n networks, b block devices, v vCPUs, r repeated headers), s cycles the sort column
 * and q (or Esc, Ctrl-C) quits. With -b, or when standard output is not a terminal, it prints the
 * table -i times (forever without -i), the batch layout scripts read.
 */
import { Command, Option } from "clipanion";
import type { DomainSummary, NodeInfo } from "../../domain/types.ts";
import { XmCommand, XmUsageError } from "./base.ts";
import { BOTTOM_LINE, FIELDS, sampleOf, summaryLines, table, type TopSample, type TopView } from "./top-format.ts";

function positive(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new XmUsageError(`Invalid ${what} '${text}': expected a whole number of at least 1`);
  return Number(text);
}

export class TopCommand extends XmCommand {
  static override paths = [["xm", "top"]];
  static override usage = Command.Usage({
    description: "monitor a host and the domains in real time",
    details: `
      xentop's table: per domain its state (xentop's letters d s b c p r), CPU time and the CPU
      percentage since the previous refresh (0.0 on the first), current and maximum memory in KiB
      and as a percentage of the host's, vCPUs, virtual network interfaces with bytes sent and
      received, and virtual block devices with their requests (oo, read, write). Counters a driver
      does not report read 0 (the simulator has no network or block traffic to count).

      On a terminal the screen refreshes every -d seconds; keys: n, b, v, r toggle network, block,
      vCPU and repeated-header lines, s cycles the sort column, q quits. With -b (or output that is
      not a terminal) the table is printed -i times, without the summary, as xentop -b did.
    `,
    examples: [
      ["Watch the host", "$0 xm top"],
      ["Three samples a second apart, for a script", "$0 xm top -b -i 3"],
      ["With per-vCPU times", "$0 xm top -b -i 2 -v"],
    ],
  });
  batch = Option.Boolean("-b,--batch", false, { description: "batch mode: print the table, no screen handling or keys" });
  iterations = Option.String("-i,--iterations", { description: "number of refreshes before exiting (default: until quit)" });
  delay = Option.String("-d,--delay", { description: "seconds between refreshes (default 1)" });
  networks = Option.Boolean("-n,--networks", false, { description: "a line per virtual network interface" });
  vbds = Option.Boolean("-x,--vbds", false, { description: "a line per virtual block device" });
  vcpus = Option.Boolean("-v,--vcpus", false, { description: "the CPU time of each vCPU" });
  repeatHeader = Option.Boolean("-r,--repeat-header", false, { description: "repeat the header before each domain" });

  private async sample(): Promise<TopSample> {
    const [domains, node] = await Promise.all([
      this.api<{ domains: DomainSummary[] }>("GET", "/domains"),
      this.api<NodeInfo>("GET", "/domains/0/node"),
    ]);
    return sampleOf(domains.domains, node, Date.now());
  }

  async execute(): Promise<number> {
    const iterations = positive(this.iterations, "number of iterations", Infinity);
    const delayMs = positive(this.delay, "delay", 1) * 1000;
    const view: TopView = { networks: this.networks, vbds: this.vbds, vcpus: this.vcpus, repeatHeader: this.repeatHeader, sortField: 0 };
    const stdout = this.context.stdout as NodeJS.WriteStream;
    const screen = !this.batch && stdout.isTTY === true;
    return screen ? this.interactive(view, iterations, delayMs, stdout) : this.batchMode(view, iterations, delayMs);
  }

  private async batchMode(view: TopView, iterations: number, delayMs: number): Promise<number> {
    let stop = false;
    let wake: (() => void) | undefined;
    const onSignal = () => {
      stop = true;
      wake?.();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      let prev: TopSample | undefined;
      for (let n = 0; n < iterations && !stop; n++) {
        if (n > 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, delayMs);
          });
          if (stop) break;
        }
        const cur = await this.sample();
        this.out(table(cur, prev, view));
        prev = cur;
      }
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    return 0;
  }

  private async interactive(view: TopView, iterations: number, delayMs: number, stdout: NodeJS.WriteStream): Promise<number> {
    const stdin = this.context.stdin as NodeJS.ReadStream;
    let quit = false;
    let wake: (() => void) | undefined;
    const onKey = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        const k = ch.toLowerCase();
        if (k === "q" || ch === "\x1b" || ch === "\x03") quit = true;
        else if (k === "n") view.networks = !view.networks;
        else if (k === "b") view.vbds = !view.vbds;
        else if (k === "v") view.vcpus = !view.vcpus;
        else if (k === "r") view.repeatHeader = !view.repeatHeader;
        else if (k === "s") view.sortField = (view.sortField + 1) % FIELDS.length;
      }
      wake?.();
    };
    const raw = stdin.isTTY === true;
    if (raw) stdin.setRawMode(true);
    stdin.on("data", onKey);
    stdin.resume();
    // Alternate screen, cursor hidden; both restored on the way out.
    stdout.write("\x1b[?1049h\x1b[?25l");
    try {
      let prev: TopSample | undefined;
      let cur: TopSample | undefined;
      for (let n = 0; n < iterations && !quit; ) {
        const due = !cur || Date.now() - cur.at >= delayMs;
        if (due) {
          prev = cur;
          cur = await this.sample();
          n++;
        }
        const rows = stdout.rows || 24;
        const body = summaryLines(cur!) + table(cur!, prev, view, Math.max(0, rows - 4));
        stdout.write(`\x1b[H\x1b[2J${body.replace(/\n/g, "\r\n")}\x1b[${rows};1H\x1b[7m${BOTTOM_LINE}\x1b[0m`);
        if (n >= iterations || quit) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.max(0, delayMs - (Date.now() - cur!.at)));
        });
      }
    } finally {
      stdin.off("data", onKey);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
      stdout.write("\x1b[?25h\x1b[?1049l");
    }
    return 0;
  }
}
