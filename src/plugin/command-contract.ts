/**
 * CLI commands contributed by plugins (`xm <name>`). A plugin declares them (name, help, options,
 * arguments) in its definition's `commands`, built-ins in their own `commands.ts` so that the xm
 * command line lists them without loading the plugin; the implementation is loaded only when the
 * command runs (`load`). The command talks to xend through the control API, as every xm command
 * does (`ctx.api`), typically to the plugin's own routes (`/plugins/<name>/…`).
 */
import type { Writable } from "node:stream";
import type { Paths } from "../paths.ts";

export interface CommandOptionDecl {
  /** Option names, as `-l,--live`. */
  names: string;
  /** A flag, or an option that takes a value (`-p 8002`). */
  kind: "boolean" | "string";
  description: string;
}

export interface CommandArgDecl {
  /** As usage shows it: `Domain`, `Host`. */
  name: string;
  /** Required unless false. Optional arguments come last. */
  required?: boolean;
}

/** What the command's implementation receives: parsed options (by key) and arguments (by name). */
export interface CommandInput {
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  readonly args: Readonly<Record<string, string | undefined>>;
}

/** Errors a progress request rejects with: the daemon's code and status, or a socket error code. */
export type CommandRequestError = Error & { code?: string; status?: number };

export interface CommandContext {
  readonly paths: Paths;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /**
   * Calls the control API as xm does (waits for a restarting xend, says DAEMON_NOT_RUNNING when
   * none answers); an error answer is thrown with the daemon's code and message, and becomes
   * `Error: <message>` with the error table's exit status.
   */
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /**
   * One control API call with no idle timeout and no wait for a restarting xend (long work, such
   * as a dump); rejects with {@link CommandRequestError} as the socket or the daemon answered.
   */
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /**
   * POSTs to a route that streams NDJSON progress (`progressStream` on the plugin side): each
   * report goes to `onProgress`; resolves with the result. Rejects with {@link CommandRequestError}.
   */
  postWithProgress<P, R>(path: string, body: Record<string, unknown>, onProgress: (progress: P) => void, unfinished: string): Promise<R>;
  /** One progress line (rewritten in place on a terminal; whole lines elsewhere). */
  progressLine(out: Writable, tty?: boolean): { update(text: string, key?: string): void; end(): void };
  /**
   * Progress of a transfer of `total` bytes, as xm save/restore show it: on a terminal a percentage
   * with an ETA rewritten in place, elsewhere a plain line every few seconds and at each new label.
   */
  transferProgress(out: Writable, tty?: boolean): { update(label: string, done: number, total: number): void; end(): void };
  isTerminal(out: Writable): boolean;
  /** An error to throw for wrong arguments: `Error: <message>` and the command's usage, exit 1. */
  usageError(message: string): Error;
  /** An error to throw as if the daemon had answered it (`Error: <message>`, exit by `code`). */
  apiError(code: string, message: string, status: number): Error;
}

export type CommandRun = (input: CommandInput, ctx: CommandContext) => number | void | Promise<number | void>;

export interface PluginCommand {
  /** `xm <name>`: lower case letters, digits and `-`. */
  name: string;
  /** One line, shown by `xm help`. */
  description: string;
  details?: string;
  examples?: ReadonlyArray<readonly [string, string]>;
  options?: Readonly<Record<string, CommandOptionDecl>>;
  args?: readonly CommandArgDecl[];
  /** The implementation, loaded when the command runs (a dynamic import keeps `xm help` light). */
  load(): CommandRun | { default: CommandRun } | Promise<CommandRun | { default: CommandRun }>;
}

/** Typed identity for command declarations. */
export function defineCommand(command: PluginCommand): PluginCommand {
  return command;
}
