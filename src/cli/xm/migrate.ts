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
import { request as httpRequest } from "node:http";
import type { Writable } from "node:stream";
import { Command, Option } from "clipanion";
import { XvmError } from "../../errors.ts";
import type { MigrationProgress, MigrationStats } from "../../hypervisor/driver.ts";
import { ApiError, XmCommand, XmUsageError } from "./base.ts";

const ROUTE = "/plugins/relocation/migrate";
const PLAIN_EVERY_MS = 500;

interface MigrateAnswer {
  domain: string;
  domid: number;
  destination: string;
  remoteDomid: number;
  live: boolean;
  stats: MigrationStats;
}

type StreamLine =
  | { progress: MigrationProgress }
  | { result: MigrateAnswer }
  | { error: { code: string; message: string } };

const MiB = 2 ** 20;

/** One progress line: `round 2, 45%, 812.3 MiB/s, 1234 dirty pages left`. */
export function progressText(domain: string, p: MigrationProgress): string {
  const rate = (p.throughputMbps * 1e6) / 8 / MiB;
  const phase = p.phase === "stop-and-copy" ? ", stopped" : p.phase === "verifying" ? ", verifying" : "";
  const throttle = p.throttlePercent > 0 ? `, throttled ${p.throttlePercent}%` : "";
  return `Migrating ${domain}: round ${p.round}, ${p.percent}%, ${rate.toFixed(1)} MiB/s, ${p.remainingPages} dirty pages left${phase}${throttle}`;
}

/** The closing figures, named as QEMU's `info migrate` names them. */
export function summaryText(a: MigrateAnswer): string {
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

class ProgressView {
  private shown = false;
  private lastPlain = 0;
  private lastRound = -1;
  private lastPhase = "";

  constructor(private readonly out: Writable, private readonly tty: boolean, private readonly domain: string) {}

  update(p: MigrationProgress): void {
    const text = progressText(this.domain, p);
    if (this.tty) {
      this.out.write(`\r${text}\x1b[K`);
      this.shown = true;
      return;
    }
    const now = Date.now();
    if (p.round === this.lastRound && p.phase === this.lastPhase && now - this.lastPlain < PLAIN_EVERY_MS) return;
    this.lastPlain = now;
    this.lastRound = p.round;
    this.lastPhase = p.phase;
    this.out.write(`${text}\n`);
  }

  end(): void {
    if (this.shown) this.out.write("\n");
    this.shown = false;
  }
}

/** POSTs with `progress: true` and follows the NDJSON stream. */
function migrateStreaming(socketPath: string, body: Record<string, unknown>, onProgress: (p: MigrationProgress) => void): Promise<MigrateAnswer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ ...body, progress: true });
    const req = httpRequest(
      { socketPath, method: "POST", path: ROUTE, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        let buffered = "";
        let settled = false;
        const handle = (line: string) => {
          if (!line.trim() || settled) return;
          let msg: StreamLine;
          try {
            msg = JSON.parse(line) as StreamLine;
          } catch {
            return;
          }
          if ("progress" in msg) onProgress(msg.progress);
          else if ("result" in msg) {
            settled = true;
            resolve(msg.result);
          } else if ("error" in msg) {
            settled = true;
            reject(new ApiError(msg.error.code, msg.error.message, 500));
          } else if ((res.statusCode ?? 0) >= 400) {
            settled = true;
            const err = msg as { code?: string; message?: string };
            reject(new ApiError(err.code ?? "XVM_INTERNAL", err.message ?? `HTTP ${res.statusCode}`, res.statusCode ?? 500));
          }
        };
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            handle(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
          }
        });
        res.on("end", () => {
          handle(buffered);
          if (settled) return;
          if (res.statusCode === 404) reject(new ApiError("XVM_NOT_FOUND", "the relocation plugin is not loaded in xend (no migrate route on the control API)", 404));
          else reject(new Error("xend closed the connection before the migration finished"));
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
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
    if (process.env.XVM_RELOCATION_FAULT) body.fault = process.env.XVM_RELOCATION_FAULT;
    const { stdout } = this.context;
    const view = new ProgressView(stdout, (stdout as Writable & { isTTY?: boolean }).isTTY === true, this.domain);
    const paths = this.statePaths;
    let answer: MigrateAnswer;
    try {
      answer = await migrateStreaming(paths.controlSocket, body, (p) => view.update(p));
    } catch (error) {
      view.end();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ECONNREFUSED") throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
      throw error;
    }
    view.end();
    stdout.write(summaryText(answer));
    return 0;
  }
}

export const migrateCommand = MigrateCommand;
