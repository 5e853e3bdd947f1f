/**
 * What xm shows while a long operation runs in xend (`xm dump-core`, `xm migrate`): the client of
 * the NDJSON progress answers plugins give (src/plugin/progress-stream.ts), and one progress line.
 */
import type { request as HttpRequest } from "node:http";
import type { Writable } from "node:stream";
import { errorDefinition } from "../../errors.ts";

type StreamLine<P, R> =
  | { progress: P }
  | { result: R }
  | { error: { code: string; message: string } };

/**
 * How a progress request failed: the daemon's code and message, and the HTTP status (for an error
 * line, which comes after a 200, the status of its code in the error table).
 */
export type ProgressRequestError = Error & { code?: string; status?: number };

function failure(message: string, status: number, code?: string): ProgressRequestError {
  return Object.assign(new Error(message), { status, ...(code !== undefined ? { code } : {}) });
}

/**
 * POSTs `body` with `progress: true` to `route` on the control socket and follows the NDJSON
 * answer: each progress report goes to `onProgress`, the result line resolves, an error line (or a
 * `{code, message}` answer with an error status) rejects with that code, message and status. A
 * connection that ends before either rejects with `unfinished` as message; a socket error rejects
 * as it came (ENOENT, ECONNREFUSED: no daemon).
 */
export function postWithProgress<P, R>(
  socketPath: string,
  route: string,
  body: Record<string, unknown>,
  onProgress: (progress: P) => void,
  unfinished: string,
): Promise<R> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify({ ...body, progress: true });
    // node:http on first use (Start-up in docs/architecture.md).
    const req = (process.getBuiltinModule("node:http").request as typeof HttpRequest)(
      { socketPath, method: "POST", path: route, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        const status = res.statusCode ?? 0;
        let buffered = "";
        let settled = false;
        const handle = (line: string) => {
          if (!line.trim() || settled) return;
          let msg: StreamLine<P, R>;
          try {
            msg = JSON.parse(line) as StreamLine<P, R>;
          } catch {
            return;
          }
          if ("progress" in msg) onProgress(msg.progress);
          else if ("result" in msg) {
            settled = true;
            resolve(msg.result);
          } else if ("error" in msg) {
            settled = true;
            const code = msg.error.code;
            reject(failure(msg.error.message, errorDefinition(code)?.status ?? 500, code));
          } else if (status >= 400) {
            // Refused before the operation started: a plain `{code, message}` answer.
            settled = true;
            const err = msg as { code?: string; message?: string };
            reject(failure(err.message ?? `HTTP ${status}`, status, err.code));
          }
        };
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffered += chunk;
          let nl: number;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            handle(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
          }
        });
        res.on("end", () => {
          handle(buffered);
          if (settled) return;
          reject(status >= 400 ? failure(`HTTP ${status}`, status) : new Error(unfinished));
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** Whether a stream is a terminal (a PassThrough given `isTTY` counts, for tests). */
export function isTerminal(out: Writable): boolean {
  return (out as Writable & { isTTY?: boolean }).isTTY === true;
}

/**
 * A progress line. On a terminal one line is rewritten in place (`\r…\x1b[K`) and ended with a
 * newline by {@link end}; elsewhere (a log, a pipe) whole lines are printed: at once when `key`
 * changes (a new round, a new phase), otherwise at most every `plainEveryMs`.
 */
export class ProgressLine {
  private shown = false;
  private lastPlain = 0;
  private lastKey: string | undefined;

  constructor(private readonly out: Writable, private readonly tty = isTerminal(out), private readonly plainEveryMs = 500, private readonly now: () => number = Date.now) {}

  update(text: string, key = ""): void {
    if (this.tty) {
      this.out.write(`\r${text}\x1b[K`);
      this.shown = true;
      return;
    }
    const now = this.now();
    if (key === this.lastKey && now - this.lastPlain < this.plainEveryMs) return;
    this.lastPlain = now;
    this.lastKey = key;
    this.out.write(`${text}\n`);
  }

  end(): void {
    if (this.shown) this.out.write("\n");
    this.shown = false;
  }
}
