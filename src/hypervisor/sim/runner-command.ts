/**
 * What a runner command handler gets and returns. Commands run inside the runner, next to guest
 * memory; the relocation and dump work add theirs as files under ./commands/ (see its index.ts).
 */
import type { GuestInfo } from "../driver.ts";
import type { LifecycleEvent, RunnerSpec, SimGuest } from "./guest.ts";
import type { RunnerSocket } from "./runner-socket.ts";

export interface RunnerHost {
  readonly dir: string;
  readonly spec: RunnerSpec;
  readonly guest: SimGuest;
  log(line: string): void;
  /** Rewrites spec.json (name, meta and limits survive a driver re-attach and a runner death). */
  saveSpec(): void;
  /** Life-cycle events no driver has acknowledged yet. */
  pendingEvents(): LifecycleEvent[];
  ackEvents(upToSeq: number): void;
  /** Stops the guest and ends the runner process once the reply to the current request is sent. */
  exitAfterReply(): void;
  info(): GuestInfo;
}

export interface RunnerConnection {
  readonly socket: RunnerSocket;
  /** Receive pushed events on this connection. */
  subscribed: boolean;
}

export interface RunnerCommandContext {
  host: RunnerHost;
  guest: SimGuest;
  args: Record<string, unknown>;
  /** Bulk input sent with the request (pages to write, a migration stream chunk…). */
  payload: Uint8Array;
  connection: RunnerConnection;
  /** Sends a progress frame for this request (before its reply). */
  progress(data: Record<string, unknown>): void;
}

export interface RunnerReply {
  result?: unknown;
  payload?: Uint8Array;
}

export type RunnerCommand = (ctx: RunnerCommandContext) => RunnerReply | void | Promise<RunnerReply | void>;

/** Argument accessors that fail with a clear XVM_BAD_REQUEST. */
export { arg } from "./runner-args.ts";
