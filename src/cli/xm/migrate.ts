/**
 * `xm migrate [-l|--live] [-p|--port N] [-r|--resource MBIT] <Domain> <Host>`: moves a domain to
 * the xend at <Host> (its relocation server, `xend-relocation-port` unless -p), through the
 * relocation plugin's route on the control API (`POST /plugins/relocation/migrate`,
 * plugins/relocation/routes.ts).
 *
 * While it runs: on a terminal one line kept up to date (round, percent, MiB/s, dirty pages left);
 * otherwise a plain line per round and at most every half second. At the end the figures QEMU's
 * `info migrate` gives (total time, downtime, setup, transferred, throughput, zero pages as
 * "duplicate", rounds as "dirty sync count", dirty page rate, throttle).
 *
 * `-r` limits the bandwidth in Mbit/s (xm 3.1 accepted it and ignored it; here it is applied).
 */
import { Command, Option } from "clipanion";
import { XvmError } from "../../errors.ts";
import type { MigrationProgress, MigrationStats } from "../../hypervisor/driver.ts";
import { ApiError, XmCommand, XmUsageError } from "./base.ts";
import { ProgressLine, type ProgressRequestError, postWithProgress } from "./progress.ts";

const ROUTE = "/plugins/relocation/migrate";

/** The route's answer (MigrateResult in plugins/relocation/send.ts, as JSON). */
interface MigrateResult {
  domain: string;
  domid: number;
  destination: string;
  remoteDomid: number;
  live: boolean;
  stats: MigrationStats;
}

const MiB = 2 ** 20;

/** One progress line: `round 2, 45%, 812.3 MiB/s, 1234 dirty pages left`. */
export function progressText(domain: string, p: MigrationProgress): string {
  const rate = (p.throughputMbps * 1e6) / 8 / MiB;
  const phase = p.phase === "stop-and-copy" ? ", stopped" : p.phase === "verifying" ? ", verifying" : "";
  const throttle = p.throttlePercent > 0 ? `, throttled ${p.throttlePercent}%` : "";
  return `Migrating ${domain}: round ${p.round}, ${p.percent}%, ${rate.toFixed(1)} MiB/s, ${p.remainingPages} dirty pages left${phase}${throttle}`;
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
    "",
  ].join("\n");
}

export class MigrateCommand extends XmCommand {
  static override paths = [["xm", "migrate"]];
  static override usage = Command.Usage({
    description: "migrate a domain to another machine",
    details: `
      Sends the domain to the xend on <Host>, whose relocation server must be on
      (\`config/xend-relocation-server\`) and must allow this host (\`config/xend-relocation-hosts-allow\`).
      With \`--live\` the domain keeps running while its memory is copied and pauses only for the last
      pages (\`config/xend-relocation-max-downtime\`, 300 ms by default); without it, it is paused
      for the whole copy. The domain is called \`migrating-<name>\` meanwhile; if anything fails it
      goes on running here under its own name.
    `,
    examples: [
      ["Live-migrate web1 to otherhost", "$0 xm migrate --live web1 otherhost"],
      ["Migrate to a relocation server on port 8102", "$0 xm migrate -l -p 8102 web1 10.0.0.2"],
    ],
  });
  live = Option.Boolean("-l,--live", false, { description: "use live migration" });
  port = Option.String("-p,--port", { description: "use the specified TCP port for migration (default: xend-relocation-port)" });
  resource = Option.String("-r,--resource", { description: "limit the bandwidth to this many Mbit/s" });
  domain = Option.String({ required: true, name: "Domain" });
  host = Option.String({ required: true, name: "Host" });

  async execute(): Promise<number> {
    const body: Record<string, unknown> = { domain: this.domain, host: this.host, live: this.live };
    if (this.port !== undefined) {
      if (!/^\d+$/.test(this.port) || Number(this.port) > 65535) throw new XmUsageError(`invalid port '${this.port}': give a number from 0 to 65535`);
      body.port = Number(this.port);
    }
    if (this.resource !== undefined) {
      if (!/^\d+(\.\d+)?$/.test(this.resource) || Number(this.resource) <= 0) throw new XmUsageError(`invalid bandwidth '${this.resource}': give Mbit/s as a positive number`);
      body.resource = Number(this.resource);
    }
    const { stdout } = this.context;
    // On a terminal one line kept up to date; elsewhere a line per round or phase, at most every 0.5 s.
    const view = new ProgressLine(stdout);
    const paths = this.statePaths;
    let answer: MigrateResult;
    try {
      answer = await postWithProgress<MigrationProgress, MigrateResult>(
        paths.controlSocket, ROUTE, body,
        (p) => view.update(progressText(this.domain, p), `${p.round} ${p.phase}`),
        "xend closed the connection before the migration finished",
      );
    } catch (error) {
      view.end();
      const e = error as ProgressRequestError;
      if (e.code === "ENOENT" || e.code === "ECONNREFUSED") throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
      if (e.status === 404 && e.code === undefined) throw new ApiError("XVM_NOT_FOUND", "the relocation plugin is not loaded in xend (no migrate route on the control API)", 404);
      if (e.status !== undefined) throw new ApiError(e.code ?? "XVM_INTERNAL", e.message, e.status);
      throw error;
    }
    view.end();
    stdout.write(summaryText(answer));
    return 0;
  }
}

export const migrateCommand = MigrateCommand;
