/**
 * `xm migrate` (declared in commands.ts, loaded when it runs): moves a domain to the xend at
 * <Host> through this plugin's route on the control API (`POST /plugins/relocation/migrate`,
 * routes.ts), following its progress.
 *
 * While it runs: on a terminal one line kept up to date (round, percent, MiB/s, dirty pages left);
 * otherwise a plain line per round and at most every half second. At the end the figures QEMU's
 * `info migrate` gives (total time, downtime, setup, transferred, throughput, zero pages as
 * "duplicate", rounds as "dirty sync count", dirty page rate, throttle).
 *
 * `-r` limits the bandwidth in Mbit/s (xm 3.1 accepted it and ignored it; here it is applied).
 */
import type { CommandRequestError, CommandRun, MigrationProgress } from "xvm/plugin";
import type { MigrateResult } from "./send.ts";

const ROUTE = "/plugins/relocation/migrate";

const MiB = 2 ** 20;

/** One progress line: `round 2, 45%, 812.3 MiB/s, 1234 dirty pages left`. */
export function progressText(domain: string, p: MigrationProgress): string {
  const rate = (p.throughputMbps * 1e6) / 8 / MiB;
  const phase = p.phase === "stop-and-copy" ? ", stopped" : p.phase === "verifying" ? ", verifying" : "";
  const throttle = p.throttlePercent > 0 ? `, throttled ${p.throttlePercent}%` : "";
  return `Migrating ${domain}: round ${p.round}, ${p.percent}%, ${rate.toFixed(1)} MiB/s, ETA ${etaText(p)}, ${p.remainingPages} dirty pages left${phase}${throttle}`;
}

/**
 * Time to send what is left at the rate so far (`m:ss`); `--:--` before a rate is known. Pages
 * dirtied meanwhile make a pre-copy round's estimate a floor, which is what QEMU shows too.
 */
export function etaText(p: Pick<MigrationProgress, "remainingBytes" | "throughputMbps" | "remainingPages">): string {
  const bytesPerSecond = (p.throughputMbps * 1e6) / 8;
  const left = Math.max(p.remainingBytes, p.remainingPages * 4096);
  if (left <= 0) return "0:00";
  if (!(bytesPerSecond > 0)) return "--:--";
  const s = Math.round(left / bytesPerSecond);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The closing figures, named as QEMU's `info migrate` names them. */
export function summaryText(a: MigrateResult): string {
  const s = a.stats;
  const kb = (bytes: number) => Math.round(bytes / 1024);
  return [
    `Migration of ${a.domain} to ${a.destination} completed${a.live ? " (live)" : ""}: it is domain ${a.remoteDomid} there.`,
    `Migration status: ${s.status}`,
    `total time: ${s.totalTimeMs} ms`,
    `downtime: ${s.downtimeMs} ms`,
    `setup: ${s.setupTimeMs} ms`,
    `transferred ram: ${kb(s.transferredBytes)} kbytes`,
    `throughput: ${s.throughputMbps.toFixed(2)} mbps`,
    `remaining ram: ${kb(s.remainingBytes)} kbytes`,
    `total ram: ${kb(s.totalBytes)} kbytes`,
    `duplicate: ${s.zeroPages} pages`,
    `normal: ${s.normalPages} pages`,
    `normal bytes: ${kb(s.normalPages * 4096)} kbytes`,
    `dirty sync count: ${s.rounds}`,
    `dirty pages rate: ${s.dirtyPagesRate} pages`,
    `cpu throttle percentage: ${s.throttlePercent}`,
    ...(s.streamPath ? [`stream: ${s.streamPath}`] : []),
    "",
  ].join("\n");
}

const run: CommandRun = async ({ options, args }, ctx) => {
  const domain = args.Domain!;
  const body: Record<string, unknown> = { domain, host: args.Host, live: options.live === true };
  const port = options.port as string | undefined;
  const resource = options.resource as string | undefined;
  if (port !== undefined) {
    if (!/^\d+$/.test(port) || Number(port) > 65535) throw ctx.usageError(`invalid port '${port}': give a number from 0 to 65535`);
    body.port = Number(port);
  }
  if (resource !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(resource) || Number(resource) <= 0) throw ctx.usageError(`invalid bandwidth '${resource}': give Mbit/s as a positive number`);
    body.resource = Number(resource);
  }
  // On a terminal one line kept up to date; elsewhere a line per round or phase, at most every 0.5 s.
  const view = ctx.progressLine(ctx.stdout);
  let answer: MigrateResult;
  try {
    answer = await ctx.postWithProgress<MigrationProgress, MigrateResult>(
      ROUTE, body,
      (p) => view.update(progressText(domain, p), `${p.round} ${p.phase}`),
      "xend closed the connection before the migration finished",
    );
  } catch (error) {
    view.end();
    const e = error as CommandRequestError;
    if (e.status === 404 && e.code === undefined) throw ctx.apiError("XVM_NOT_FOUND", "the relocation plugin is not loaded in xend (no migrate route on the control API)", 404);
    if (e.status !== undefined) throw ctx.apiError(e.code ?? "XVM_INTERNAL", e.message, e.status);
    throw error;
  }
  view.end();
  ctx.stdout.write(summaryText(answer));
  return 0;
};

export default run;
