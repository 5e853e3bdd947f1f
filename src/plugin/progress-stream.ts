/**
 * A long operation answered as it runs: `application/x-ndjson` with `{"progress": …}` lines, then
 * one `{"result": …}` or `{"error": {code, message, params}}` line; an empty line after 4 s of
 * silence. enable-dump (`xm dump-core`) and
 * relocation (`xm migrate`) answer this way, and external plugins may too (`xvm/plugin` exports it);
 * xm reads such answers with src/cli/xm/progress.ts.
 *
 * A client that goes away does not stop the operation: it runs to its end and the plugin logs it,
 * as xend's did.
 */
import type { XvmError } from "../errors.ts";

export interface ProgressStreamOptions<P> {
  /** What `run` threw, as the error line's `{code, message}` (an XvmError of the plugin's choice). */
  toError(error: unknown): XvmError;
  /** At most one progress line per this many ms (default 100), besides the urgent ones. */
  intervalMs?: number;
  /** A report that goes out even within the interval (the last one, a new phase); the first always does. */
  urgent?(progress: P, previous: P): boolean;
  /** Silence after which an empty line goes out (default 4000 ms). */
  heartbeatMs?: number;
}

/** Silence longer than this gets an empty line. */
const HEARTBEAT_MS = 4_000;

/** Runs `run` and answers with its progress reports, then its result, as NDJSON (empty lines while quiet). */
export function progressStream<P, R>(
  run: (report: (progress: P) => void) => Promise<R>,
  options: ProgressStreamOptions<P>,
): Response {
  const intervalMs = options.intervalMs ?? 100;
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let lastSent = performance.now();
      const send = (value: unknown) => {
        if (!open) return;
        lastSent = performance.now();
        try {
          controller.enqueue(encoder.encode(JSON.stringify(value) + "\n"));
        } catch {
          open = false; // the client went away; the operation goes on and is logged
        }
      };
      let last = 0;
      let previous: { value: P } | undefined;
      const report = (progress: P) => {
        const now = performance.now();
        if (previous && !options.urgent?.(progress, previous.value) && now - last < intervalMs) return;
        last = now;
        previous = { value: progress };
        send({ progress });
      };
      // An operation may go quiet (a hypervisor that does not answer for a while): an empty line
      // every few seconds keeps the answer from looking idle to the server (Bun closes responses
      // silent for 10 s) and to proxies; readers skip empty lines.
      const heartbeat = setInterval(() => {
        if (!open || performance.now() - lastSent < heartbeatMs) return;
        lastSent = performance.now();
        try {
          controller.enqueue(encoder.encode("\n"));
        } catch {
          open = false;
        }
      }, heartbeatMs / 2);
      run(report).then(
        (result) => send({ result }),
        (error) => send({ error: options.toError(error).toJSON() }),
      ).finally(() => {
        clearInterval(heartbeat);
        if (!open) return;
        open = false;
        try {
          controller.close();
        } catch {
          // already closed by a cancel
        }
      });
    },
  });
  return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
}
