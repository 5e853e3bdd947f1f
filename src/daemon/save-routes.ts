/**
 * The control API's save and restore routes (issue 15.1), beside the domain routes at `/domains`:
 *
 *   POST /domains/{dom}/save     {file, checkpoint?, progress?}   xm save [-c]
 *   POST /domains/restore        {file, paused?, progress?}       xm restore [-p]
 *   POST /domains/{dom}/suspend  {progress?}                      xm suspend (managed domains)
 *   POST /domains/{dom}/resume   {paused?, progress?}             xm resume [-p]
 *
 * `file` is absolute (xm resolves it against the caller's directory; the control socket is the
 * administrator's). Without `progress` the answer is one JSON object when done. With
 * `progress: true` it is NDJSON: `{"progress":{"phase","done","total"}}` lines (bytes of guest
 * state; phases `saving`, `verifying`, `loading`), then `{"result":…}` or `{"error":…}`; a
 * save or restore once started runs to its end even if the client goes away.
 */
import * as v from "valibot";
import { errorMessage, XvmError } from "../errors.ts";
import { progressStream } from "../plugin/progress-stream.ts";
import { DomainSummarySchema } from "../domain/api-schemas.ts";
import type { DomainManager, SaveProgress } from "../domain/types.ts";
import type { ApiRouter } from "./api-router.ts";

const tags = ["domains"];
const DomParams = v.object({ dom: v.pipe(v.string(), v.description("Domain name, id or uuid")) });
const File = v.pipe(v.string(), v.minLength(1), v.maxLength(4096), v.description("absolute path of the saved-domain file"));
const Progress = v.optional(v.pipe(v.boolean(), v.description("answer NDJSON progress lines, then the result")), false);
const SaveResultSchema = v.object({ file: v.string(), bytes: v.number(), seconds: v.number(), name: v.string(), uuid: v.string() });

function asXvmError(error: unknown): XvmError {
  return error instanceof XvmError ? error : new XvmError("XVM_INTERNAL", { detail: errorMessage(error) });
}

function need<K extends "save" | "restore" | "suspend" | "resume">(manager: DomainManager, key: K): NonNullable<DomainManager[K]> {
  const fn = manager[key];
  if (!fn) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `xm ${key}` });
  return fn.bind(manager) as NonNullable<DomainManager[K]>;
}

/** Runs `op` answering JSON, or NDJSON progress lines when asked. */
function answer<R>(progress: boolean, op: (report?: (p: SaveProgress) => void) => Promise<R>): Promise<R> | Response {
  if (!progress) return op();
  return progressStream<SaveProgress, R>((report) => op(report), {
    toError: asXvmError,
    urgent: (p, prev) => p.phase !== prev.phase || p.done >= p.total,
  });
}

export function saveRoutes(api: ApiRouter, manager: DomainManager): void {
  api.route({
    method: "post", path: "/restore", tags, status: 201,
    summary: "Restore a domain from a saved-domain file (xm restore): same name, uuid and memory",
    description: "The whole file is checked first (format, truncation, checksums, driver); nothing is created when it is refused.",
    body: v.object({ file: File, paused: v.optional(v.boolean(), false), progress: Progress }),
    response: DomainSummarySchema,
  }, ({ body }) => {
    const restore = need(manager, "restore");
    return answer(body.progress, (onProgress) => restore(body.file, { paused: body.paused, onProgress }));
  });

  api.route({
    method: "post", path: "/:dom/save", tags,
    summary: "Save a domain's state to a file and destroy it (xm save; checkpoint: keep it running)",
    params: DomParams,
    body: v.object({ file: File, checkpoint: v.optional(v.boolean(), false), progress: Progress }),
    response: SaveResultSchema,
  }, ({ params, body }) => {
    const save = need(manager, "save");
    return answer(body.progress, (onProgress) => save(params.dom, body.file, { checkpoint: body.checkpoint, onProgress }));
  });

  api.route({
    method: "post", path: "/:dom/suspend", tags,
    summary: "Suspend a managed domain: its state goes to var/lib/xend/domains/<uuid>/checkpoint.chk (xm suspend)",
    params: DomParams, body: v.optional(v.object({ progress: Progress }), { progress: false }),
    response: SaveResultSchema,
  }, ({ params, body }) => {
    const suspend = need(manager, "suspend");
    return answer(body.progress, (onProgress) => suspend(params.dom, onProgress));
  });

  api.route({
    method: "post", path: "/:dom/resume", tags,
    summary: "Resume a suspended managed domain (xm resume)",
    params: DomParams, body: v.optional(v.object({ paused: v.optional(v.boolean(), false), progress: Progress }), { paused: false, progress: false }),
    response: DomainSummarySchema,
  }, ({ params, body }) => {
    const resume = need(manager, "resume");
    return answer(body.progress, (onProgress) => resume(params.dom, { paused: body.paused, onProgress }));
  });
}
