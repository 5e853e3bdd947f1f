/**
 * The NDJSON progress answer plugins give (src/plugin/progress-stream.ts, src/plugin/json-body.ts)
 * and xm's side of it (src/cli/xm/progress.ts): served on a real Unix socket under a temporary
 * folder, read back with xm's client.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { request } from "node:http";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Hono } from "hono";
import * as v from "valibot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProgressLine, postWithProgress } from "../../src/cli/xm/progress.ts";
import { XvmError } from "../../src/errors.ts";
import { PLUGIN_API } from "../../src/plugin/public.ts";
import { jsonBody } from "../../src/plugin/json-body.ts";
import { progressStream } from "../../src/plugin/progress-stream.ts";
import type { ServerHandle } from "../../src/plugin/contract.ts";
import { serve } from "../../src/runtime/serve.ts";

type Step = { step: number; of: number };

let dir: string;
let socket: string;
let server: ServerHandle | undefined;

const Body = v.strictObject({ steps: v.pipe(v.number(), v.integer(), v.minValue(0)), fail: v.optional(v.boolean(), false), progress: v.optional(v.boolean(), false) });

/** Reports each step with no pause: only the first, the urgent last and none between get through a 10 s interval. */
async function work(steps: number, fail: boolean, report?: (p: Step) => void): Promise<{ steps: number }> {
  for (let i = 1; i <= steps; i++) report?.({ step: i, of: steps });
  await Promise.resolve();
  if (fail) throw new Error("disk on fire");
  return { steps };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "xvm-progress-"));
  socket = join(dir, "control.sock");
  const app = new Hono();
  app.post("/work", async (c) => {
    try {
      const body = await jsonBody(c, Body);
      if (!body.progress) return c.json(await work(body.steps, body.fail));
      return progressStream<Step, { steps: number }>((report) => work(body.steps, body.fail, report), {
        toError: (e) => (e instanceof XvmError ? e : new XvmError("XVM_INTERNAL", { detail: (e as Error).message })),
        intervalMs: 10_000,
        urgent: (p) => p.step === p.of,
      });
    } catch (e) {
      const err = e as XvmError;
      return c.json(err.toJSON(), err.status as 400);
    }
  });
  // Quiet until the test opens the gate: only heartbeats (empty lines) go out meanwhile.
  app.post("/quiet", () =>
    progressStream<Step, { quiet: true }>(async (report) => {
      report({ step: 1, of: 1 });
      await new Promise<void>((resolve) => (openGate = resolve));
      return { quiet: true };
    }, { toError: (e) => new XvmError("XVM_INTERNAL", { detail: (e as Error).message }), heartbeatMs: 40 }),
  );
  // The same answer as written, heartbeats included.
  app.post("/blank", () => new Response('{"progress":{"step":1,"of":1}}\n\n\n{"result":{"quiet":true}}\n', { headers: { "content-type": "application/x-ndjson" } }));
  server = await serve({ unix: socket }, app.fetch);
});

let openGate: (() => void) | undefined;

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("progressStream and postWithProgress", () => {
  it("sends the first and the urgent reports within the interval, then the result", async () => {
    const seen: Step[] = [];
    const result = await postWithProgress<Step, { steps: number }>(socket, "/work", { steps: 50 }, (p) => seen.push(p), "ended early");
    expect(result).toEqual({ steps: 50 });
    expect(seen).toEqual([{ step: 1, of: 50 }, { step: 50, of: 50 }]);
  });

  it("ends with the error line: its code, message and the code's status", async () => {
    const seen: Step[] = [];
    const error = await postWithProgress(socket, "/work", { steps: 1, fail: true }, (p) => seen.push(p as Step), "ended early").catch((e: unknown) => e);
    expect(seen).toEqual([{ step: 1, of: 1 }]);
    expect(error).toMatchObject({ message: "internal error: disk on fire", code: "XVM_INTERNAL", status: 500 });
  });

  it("refuses a bad body before streaming, naming the field", async () => {
    const error = await postWithProgress(socket, "/work", { steps: -1 }, () => {}, "ended early").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "XVM_BAD_REQUEST", status: 400 });
    expect((error as Error).message).toMatch(/^steps: Invalid value: Expected >=0 but received -1$/);
  });

  it("says HTTP <status> for an answer that is not JSON, and passes socket errors on", async () => {
    const error = await postWithProgress(socket, "/nosuch", {}, () => {}, "ended early").catch((e: unknown) => e);
    expect(error).toMatchObject({ message: "HTTP 404", status: 404 });
    expect((error as { code?: string }).code).toBeUndefined();
    const gone = await postWithProgress(join(dir, "none.sock"), "/work", {}, () => {}, "ended early").catch((e: unknown) => e);
    expect((gone as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("sends empty lines while the operation is quiet (servers close silent answers), which the reader skips", async () => {
    let raw = "";
    const done = new Promise<void>((resolve, reject) => {
      const req = request({ socketPath: socket, method: "POST", path: "/quiet", headers: { "content-type": "application/json" } }, (res) => {
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (raw += chunk));
        res.on("end", resolve);
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end("{}");
    });
    const deadline = Date.now() + 10_000;
    while (!/^\{"progress":\{"step":1,"of":1\}\}\n\n\n/.test(raw)) {
      if (Date.now() > deadline) throw new Error(`no heartbeats: ${JSON.stringify(raw)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    openGate!();
    await done;
    expect(raw).toMatch(/^\{"progress":\{"step":1,"of":1\}\}\n(\n)+\{"result":\{"quiet":true\}\}\n$/);
    // xm's reader gets the progress and the result through them.
    const seen: Step[] = [];
    expect(await postWithProgress<Step, { quiet: boolean }>(socket, "/blank", {}, (p) => seen.push(p), "ended early")).toEqual({ quiet: true });
    expect(seen).toEqual([{ step: 1, of: 1 }]);
  });

  it("is part of xvm/plugin", () => {
    expect(PLUGIN_API.progressStream).toBe(progressStream);
    expect(PLUGIN_API.jsonBody).toBe(jsonBody);
  });
});

describe("ProgressLine", () => {
  function capture(): { out: PassThrough; text: () => string } {
    const out = new PassThrough();
    let text = "";
    out.on("data", (d: Buffer) => (text += d.toString()));
    return { out, text: () => text };
  }

  it("rewrites one line on a terminal and ends it with a newline", () => {
    const c = capture();
    const line = new ProgressLine(c.out, true);
    line.update("a 1");
    line.update("a 2");
    line.end();
    line.end();
    expect(c.text()).toBe("\ra 1\x1b[K\ra 2\x1b[K\n");
  });

  it("prints whole lines elsewhere: at once when the key changes, else at most every interval", () => {
    const c = capture();
    const line = new ProgressLine(c.out, false, 60_000);
    line.update("round 1 a", "1");
    line.update("round 1 b", "1");
    line.update("round 2 a", "2");
    line.end();
    expect(c.text()).toBe("round 1 a\nround 2 a\n");
    const quiet = capture();
    new ProgressLine(quiet.out, true).end();
    expect(quiet.text()).toBe("");
  });
});
