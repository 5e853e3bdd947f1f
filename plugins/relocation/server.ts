/**
 * The relocation server's listener: TCP on `xend-relocation-address:xend-relocation-port` while
 * `xend-relocation-server` is true. A refresh that changes any of them opens the new listener and
 * closes the old one; connections already accepted (migrations in progress) are not touched, since
 * each lives on its own socket.
 *
 * Binding as xend's TCPListener did: an address in use is retried every 0.5 s for 30 s (a previous
 * daemon may still be letting go of it) without complaint; after that it is logged as an error and
 * retried every 5 s, the daemon going on without a relocation server as xend did. Any other bind
 * error is this host's configuration: the daemon is marked degraded with the reason (svcs -x) and
 * the bind retried every 5 s until it succeeds or the configuration changes.
 *
 * Every accepted connection is paused until the peer passed hosts-allow: nothing it sent is read
 * before that, and a refused peer is logged (`Rejected connection from <ip> (<name>).`, once per
 * peer per minute with a count after: reject-log.ts) and closed. The handler then authenticates
 * the peer (index.ts) before reading anything it sent.
 */
import { createServer, type Server, type Socket } from "node:net";
import { escapeText, type Logger } from "xvm/plugin";
import { getfqdn } from "./fqdn.ts";
import { hostAllowed, parseHostsAllow, type HostsAllow } from "./hosts-allow.ts";
import { RejectLog } from "./reject-log.ts";

export interface ListenConfig {
  enabled: boolean;
  address: string;
  port: number;
  hostsAllow: string;
}

export interface Peer {
  address: string;
  name: string;
}

export type ConnectionHandler = (socket: Socket, peer: Peer) => void;

/** Connections past hosts-allow that have not finished their handshake yet, at most. */
const MAX_PENDING = 32;

const RETRY_IN_USE_MS = 500;
const RETRY_IN_USE_FOR_MS = 30_000;
const RETRY_SLOW_MS = 5_000;
/** A bind that keeps failing is logged again at most this often. */
const COMPLAIN_EVERY_MS = 5 * 60_000;

/** "::ffff:10.0.0.1" -> "10.0.0.1": IPv4 peers of a dual-stack listener, as xend logged them. */
export function plainAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}

function endpoint(address: string, port: number): string {
  const host = address === "" ? "*" : address.includes(":") ? `[${address}]` : address;
  return `${host}:${port}`;
}

export class RelocationListener {
  private server?: Server;
  private bound?: { address: string; port: number };
  private wanted?: ListenConfig;
  private allow: HostsAllow = parseHostsAllow("");
  private retry?: ReturnType<typeof setTimeout>;
  private generation = 0;
  private stopped = false;
  private lastError?: string;
  private lastComplaint = 0;
  /** Refusals, logged once per peer per minute. */
  readonly rejected: RejectLog;

  constructor(
    private readonly log: Logger,
    private readonly degrade: (reason: string | undefined) => void,
    private readonly onConnection: ConnectionHandler,
    private readonly lookup: (address: string) => Promise<string> = (a) => getfqdn(a),
  ) {
    this.rejected = new RejectLog(log);
  }

  /** Where it listens now, e.g. `127.0.0.1:8002` (undefined while not listening). */
  get address(): string | undefined {
    return this.bound && endpoint(this.bound.address, this.bound.port);
  }

  /** What GET /plugins/relocation/status shows. */
  status(): { enabled: boolean; listening: string | null; error?: string } {
    const out: { enabled: boolean; listening: string | null; error?: string } = { enabled: this.wanted?.enabled ?? false, listening: this.address ?? null };
    if (this.lastError && !this.server) out.error = this.lastError;
    return out;
  }

  /** Applies a configuration; resolves once the listener is in its new state (or retrying). */
  async apply(config: ListenConfig): Promise<void> {
    this.allow = parseHostsAllow(config.hostsAllow);
    if (this.allow.emptyPatterns) {
      this.log.warn(`config/xend-relocation-hosts-allow '${config.hostsAllow}' has adjacent spaces: xend would have read an empty pattern that allows every host; here they only separate patterns`);
    }
    const same = this.wanted && this.wanted.enabled === config.enabled && this.wanted.address === config.address && this.wanted.port === config.port;
    this.wanted = { ...config };
    if (same && (this.server || this.retry)) return;
    if (same && !config.enabled) return;
    await this.close();
    this.lastError = undefined;
    this.lastComplaint = 0;
    if (!config.enabled) {
      this.degrade(undefined);
      this.log.info("relocation server off (config/xend-relocation-server = false)");
      return;
    }
    await this.bind(++this.generation, Date.now());
  }

  private async bind(generation: number, since: number): Promise<void> {
    const want = this.wanted!;
    const server = createServer({ pauseOnConnect: true }, (socket) => void this.accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: want.address === "" ? undefined : want.address, port: want.port }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (error) {
      server.close();
      if (generation !== this.generation || this.stopped) return;
      const e = error as NodeJS.ErrnoException;
      const inUse = e.code === "EADDRINUSE";
      const patient = inUse && Date.now() - since < RETRY_IN_USE_FOR_MS;
      const where = endpoint(want.address, want.port);
      this.lastError = `cannot listen on ${where}: ${e.code ?? e.message}`;
      if (patient) {
        if (Date.now() - since < RETRY_IN_USE_MS) this.log.warn(`relocation server: ${where} is in use; retrying for ${RETRY_IN_USE_FOR_MS / 1000} s`);
      } else if (inUse) {
        // As xend: a port someone else holds is logged, and the daemon goes on without a relocation
        // server (other daemons on this host — test roots among them — may hold 8002 for a while).
        if (Date.now() - this.lastComplaint >= COMPLAIN_EVERY_MS) {
          this.lastComplaint = Date.now();
          this.log.error(`relocation server ${this.lastError} (in use by another process); no migrations can come in until it is free; retrying every ${RETRY_SLOW_MS / 1000} s`);
        }
      } else {
        // Anything else is this host's configuration (an address it does not have, a port it may not use).
        this.degrade(`relocation server ${this.lastError}`);
        if (Date.now() - this.lastComplaint >= COMPLAIN_EVERY_MS) {
          this.lastComplaint = Date.now();
          this.log.error(`relocation server ${this.lastError}; retrying every ${RETRY_SLOW_MS / 1000} s`);
        }
      }
      this.retry = setTimeout(() => {
        this.retry = undefined;
        void this.bind(generation, since);
      }, patient ? RETRY_IN_USE_MS : RETRY_SLOW_MS);
      this.retry.unref?.();
      return;
    }
    if (generation !== this.generation || this.stopped) {
      server.close();
      return;
    }
    server.on("error", (error) => this.log.error(`relocation server: ${error.message}`));
    this.server = server;
    this.bound = { address: want.address, port: want.port };
    this.lastError = undefined;
    this.lastComplaint = 0;
    this.degrade(undefined);
    this.log.info(`relocation server listening on ${endpoint(want.address, want.port)}`);
  }

  private async accept(socket: Socket): Promise<void> {
    socket.on("error", () => {});
    const address = plainAddress(socket.remoteAddress);
    const allow = this.allow;
    const name = allow.regexes.length === 0 ? address : await this.lookup(address);
    if (!hostAllowed(allow, address, name)) {
      this.rejected.note(address, name);
      socket.destroy();
      return;
    }
    if (this.pending >= MAX_PENDING) {
      this.rejected.note(address, name, `${MAX_PENDING} connections are already authenticating`);
      socket.destroy();
      return;
    }
    this.pending++;
    socket.once("close", () => this.settle(socket));
    this.log.debug(`relocation connection from ${address} (${escapeText(name)})`);
    this.onConnection(socket, { address, name });
  }

  private pending = 0;
  private readonly settled = new WeakSet<Socket>();

  /** The handler says a connection finished its handshake (or it closed): it no longer counts. */
  settle(socket: Socket): void {
    if (this.settled.has(socket)) return;
    this.settled.add(socket);
    this.pending--;
  }

  /** Stops listening; accepted connections go on. */
  async close(): Promise<void> {
    clearTimeout(this.retry);
    this.retry = undefined;
    this.generation++;
    const server = this.server;
    const where = this.address;
    this.server = undefined;
    this.bound = undefined;
    if (!server) return;
    // close() stops accepting at once; its callback would wait for the migrations in progress.
    server.close();
    this.log.info(`relocation server stopped listening on ${where}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.rejected.flush();
    await this.close();
  }
}
