/**
 * The listeners of the legacy interface: the Unix socket while `xend-unix-server` is true, TCP
 * while `xend-http-server` is true. `apply()` brings them in line with the config, so a refresh
 * starts, stops or moves them without a daemon restart; calls are serialised.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { errorMessage, type PluginContext, type ServerHandle } from "xvm/plugin";

export interface ListenerConfig {
  readonly "xend-unix-server": boolean;
  readonly "xend-unix-path": string;
  readonly "xend-http-server": boolean;
  readonly "xend-port": number;
  readonly "xend-address": string;
}

type Fetch = (request: Request) => Response | Promise<Response>;

interface Running {
  key: string;
  handle: ServerHandle;
}

export class Listeners {
  private unix?: Running;
  private tcp?: Running;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: PluginContext<ListenerConfig>,
    private readonly fetch: Fetch,
  ) {}

  /** The socket path the config asks for, under the state root. */
  socketPath(): string {
    return this.ctx.paths.under(this.ctx.config["xend-unix-path"]);
  }

  get unixAddress(): string | undefined {
    return this.unix?.key;
  }

  get tcpAddress(): string | undefined {
    return this.tcp?.handle.address;
  }

  apply(): Promise<void> {
    return this.enqueue(() => this.reconcile());
  }

  close(): Promise<void> {
    return this.enqueue(async () => {
      await this.stopUnix();
      await this.stopTcp();
    });
  }

  /** One change at a time; a failed one does not block the next. */
  private enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async reconcile(): Promise<void> {
    const cfg = this.ctx.config;
    const problems: string[] = [];
    const wantUnix = cfg["xend-unix-server"] ? this.socketPath() : undefined;
    if (this.unix && this.unix.key !== wantUnix) await this.stopUnix();
    if (wantUnix && !this.unix) {
      try {
        this.unix = { key: wantUnix, handle: await this.startUnix(wantUnix) };
        this.ctx.log.info(`legacy HTTP interface listening on ${wantUnix}`);
      } catch (error) {
        problems.push(`cannot listen on ${wantUnix}: ${errorMessage(error)}`);
      }
    }
    const address = cfg["xend-address"];
    const wantTcp = cfg["xend-http-server"] ? `${address || "*"}:${cfg["xend-port"]}` : undefined;
    if (this.tcp && this.tcp.key !== wantTcp) await this.stopTcp();
    if (wantTcp && !this.tcp) {
      try {
        const handle = await this.ctx.serve({ hostname: address || undefined, port: cfg["xend-port"] }, this.fetch);
        this.tcp = { key: wantTcp, handle };
        this.ctx.log.info(`legacy HTTP interface listening on TCP ${handle.address}`);
      } catch (error) {
        problems.push(`cannot listen on TCP ${wantTcp}: ${errorMessage(error)}`);
      }
    }
    for (const p of problems) this.ctx.log.error(p);
    this.ctx.degrade(problems.length > 0 ? `legacy HTTP interface: ${problems.join("; ")}` : undefined);
  }

  private async startUnix(path: string): Promise<ServerHandle> {
    // xend made the socket's folder 0700: only root (here: the daemon's user) may connect.
    const dir = dirname(path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (resolve(dir) !== resolve(this.ctx.paths.root)) chmodSync(dir, 0o700);
    return this.ctx.serve({ unix: path, mode: 0o600 }, this.fetch);
  }

  private async stopUnix(): Promise<void> {
    if (!this.unix) return;
    const { key, handle } = this.unix;
    this.unix = undefined;
    await handle.close();
    // Node removes its socket file on close; make sure of it on every runtime.
    if (existsSync(key)) unlinkSync(key);
    this.ctx.log.info(`legacy HTTP interface no longer listening on ${key}`);
  }

  private async stopTcp(): Promise<void> {
    if (!this.tcp) return;
    const { handle } = this.tcp;
    this.tcp = undefined;
    await handle.close();
    this.ctx.log.info(`legacy HTTP interface no longer listening on TCP ${handle.address}`);
  }
}
