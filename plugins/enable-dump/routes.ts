/**
 * Control API of the enable-dump plugin, mounted under `/plugins/enable-dump/`:
 *
 *   POST /plugins/enable-dump/dump  {domain, file?, live?, crash?, reset?, progress?}
 *
 * Without `progress` the answer is one JSON object `{file, bytes, seconds}` once the dump is complete
 * (or `{code, message}` with the error's HTTP status). With `progress: true` the answer is
 * `application/x-ndjson`, streamed while dumping: `{"progress":{"done":…,"total":…}}` lines (bytes of
 * guest memory), then one `{"result":{…}}` or `{"error":{"code","message"}}` line. `xm dump-core`
 * asks for progress when its output is a terminal.
 */
import type { Hono } from "hono";
import * as v from "valibot";
import { XvmError, errorMessage } from "../../src/errors.ts";
import type { Dumper } from "./dumper.ts";

export const DumpBody = v.strictObject({
  domain: v.union([v.pipe(v.string(), v.minLength(1)), v.pipe(v.number(), v.integer(), v.minValue(0))]),
  file: v.optional(v.pipe(v.string(), v.minLength(1))),
  live: v.optional(v.boolean(), false),
  crash: v.optional(v.boolean(), false),
  reset: v.optional(v.boolean(), false),
  progress: v.optional(v.boolean(), false),
});
export type DumpBody = v.InferOutput<typeof DumpBody>;

/** Progress lines are sent at most this often (plus the last one). */
const PROGRESS_INTERVAL_MS = 100;

function asXvmError(error: unknown): XvmError {
  return error instanceof XvmError ? error : new XvmError("DUMP_FAILED", { detail: errorMessage(error) });
}

export function dumpRoutes(app: Hono, dumper: Dumper): void {
  app.post("/dump", async (c) => {
    let raw: unknown;
    try {
      raw = await c.req.json();
    } catch {
      const e = new XvmError("XVM_BAD_REQUEST", { detail: "the body must be a JSON object" });
      return c.json(e.toJSON(), e.status as 400);
    }
    const parsed = v.safeParse(DumpBody, raw);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue.path?.map((p) => String(p.key)).join(".") ?? "body";
      const e = new XvmError("XVM_BAD_REQUEST", { detail: `${where}: ${issue.message}` });
      return c.json(e.toJSON(), e.status as 400);
    }
    const body = parsed.output;
    if (!body.progress) {
      try {
        return c.json(await dumper.dump(body));
      } catch (error) {
        const e = asXvmError(error);
        return c.json(e.toJSON(), e.status as 500);
      }
    }
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        const send = (value: unknown) => {
          if (!open) return;
          try {
            controller.enqueue(encoder.encode(JSON.stringify(value) + "\n"));
          } catch {
            open = false; // the client went away; the dump goes on and is logged
          }
        };
        let last = 0;
        const onProgress = (done: number, total: number) => {
          const now = performance.now();
          if (done < total && now - last < PROGRESS_INTERVAL_MS) return;
          last = now;
          send({ progress: { done, total } });
        };
        dumper.dump(body, onProgress).then(
          (result) => send({ result }),
          (error) => send({ error: asXvmError(error).toJSON() }),
        ).finally(() => {
          if (!open) return;
          open = false;
          try {
            controller.close();
          } catch {
            // already closed by a cancel
          }
        });
      },
      cancel() {
        // Nothing to stop: a dump once started runs to its end (or -incomplete) on its own.
      },
    });
    return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
  });
}
