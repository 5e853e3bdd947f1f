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
import { documentRoutes, errorMessage, jsonBody, progressStream, XvmError } from "xvm/plugin";
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

function asXvmError(error: unknown): XvmError {
  return error instanceof XvmError ? error : new XvmError("DUMP_FAILED", { detail: errorMessage(error) });
}

export function dumpRoutes(app: Hono, dumper: Dumper): void {
  documentRoutes(app, [{
    method: "post", path: "/dump", operationId: "enableDumpDump", tags: ["enable-dump"],
    summary: "Write a domain's core file (xm dump-core)",
    body: DumpBody,
    response: v.object({ file: v.string(), bytes: v.number(), seconds: v.number() }),
    stream: v.union([
      v.object({ progress: v.object({ done: v.number(), total: v.number() }) }),
      v.object({ result: v.object({ file: v.string(), bytes: v.number(), seconds: v.number() }) }),
      v.object({ error: v.object({ code: v.string(), message: v.string() }) }),
    ]),
    errors: ["DOMAIN_NOT_FOUND", "DOMAIN_BAD_STATE", "DUMP_BAD_FILE", "DUMP_IN_DIRECTORY"],
  }]);
  app.post("/dump", async (c) => {
    try {
      const body = await jsonBody(c, DumpBody);
      // The control socket is the administrator's (0600): an absolute file is theirs to choose.
      const request = { ...body, trusted: true };
      if (!body.progress) return c.json(await dumper.dump(request));
      // A dump once started runs to its end (or -incomplete) even if the client goes away.
      return progressStream<{ done: number; total: number }, unknown>(
        (report) => dumper.dump(request, (done, total) => report({ done, total })),
        { toError: asXvmError, urgent: (p) => p.done >= p.total },
      );
    } catch (error) {
      const e = asXvmError(error);
      return c.json(e.toJSON(), e.status as 500);
    }
  });
}
