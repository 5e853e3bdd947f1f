/**
 * The listeners of the legacy interface: the Unix socket while `xend-unix-server` is true, TCP
 * while `xend-http-server` is true. `apply()` brings them in line with the config, so a refresh
 * starts, stops or moves them without a daemon restart; calls are serialised.
 */
import { existsSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
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
    /** What TCP serves (index.ts: read-only); the Unix socket serves `fetch`. */
    private readonly tcpFetch: Fetch = fetch,
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
        const handle = await this.ctx.serve({ hostname: address || undefined, port: cfg["xend-port"] }, this.tcpFetch);
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
    // xend made the socket's folder 0700. Here: a folder that does not exist is created as the
    // socket's own private folder (0700, its parents 0755); an existing one is never chmodded
    // (it may be /var/run or anything the administrator named), only refused when someone else
    // could replace the socket in it.
    const dir = dirname(path);
    if (!existsSync(dir)) {
      mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
      mkdirSync(dir, { mode: 0o700 });
    } else {
      const problem = socketFolderProblem(dir);
      if (problem) throw new Error(`${problem}; xend does not change the mode of a folder it did not create: fix it or choose another config/xend-unix-path`);
    }
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

/**
 * Why the folder of the socket is unsafe, or undefined: it must be owned by root or the daemon's
 * user and writable by nobody else (mode 0755 or stricter), or another user could remove the
 * socket and put their own in its place.
 */
export function socketFolderProblem(dir: string, uid = typeof process.getuid === "function" ? process.getuid() : -1): string | undefined {
  const st = statSync(dir);
  if (!st.isDirectory()) return `${dir} is not a folder`;
  if (uid >= 0 && st.uid !== 0 && st.uid !== uid) return `the socket's folder ${dir} is owned by uid ${st.uid}, not by root or xend's user`;
  if ((st.mode & 0o022) !== 0) return `the socket's folder ${dir} has mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}; it must be 0755 or stricter`;
  return undefined;
}
