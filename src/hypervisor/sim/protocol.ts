/**
 * Messages on the runner socket (see framing.ts for the frame layout). Every frame header is one of:
 *
 *   request   { id, cmd, args }                      driver -> runner (payload: bulk input, e.g. pages)
 *   response  { id, ok: true, result }               runner -> driver (payload: bulk output)
 *             { id, ok: false, error: { code, message, params } }
 *   progress  { id, progress: { … } }                runner -> driver, before the response
 *   event     { event: { type, … }, seq? }           runner -> subscribed drivers; life-cycle events
 *                                                    carry a seq and are kept by the runner until a
 *                                                    driver acknowledges them (`ackEvents`)
 *
 * Requests are answered in any order; a driver may keep many in flight on one connection.
 */
import type { ErrorCode } from "../../errors.ts";

export const RUNNER_PROTOCOL_VERSION = 1;

export interface RequestHeader {
  id: number;
  cmd: string;
  args?: Record<string, unknown>;
}

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  params: Record<string, string | number>;
}

export type ResponseHeader =
  | { id: number; ok: true; result?: unknown }
  | { id: number; ok: false; error: ErrorBody };

export interface ProgressHeader {
  id: number;
  progress: Record<string, unknown>;
}

export type RunnerEventBody =
  | { type: "shutdown"; reason: string }
  | { type: "crashed"; detail: string }
  | { type: "console"; data: string };

export interface EventHeader {
  event: RunnerEventBody;
  seq?: number;
}

export const RUNNER_SOCKET = "runner.sock";
export const RUNNER_SPEC = "spec.json";
export const RUNNER_PID = "pid";
/**
 * Tests only: a fault (`corrupt-batch:N`, `close-mid-batch:N`) for the guest's next outgoing
 * migration stream, read once and removed by a runner started with XVM_TEST_FAULTS=1 (see
 * test/helpers/migration-faults.ts). Not part of the driver interface.
 */
export const RUNNER_TEST_FAULT = "test-fault";
