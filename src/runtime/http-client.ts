/**
 * A small HTTP client over a Unix socket (node:http works the same on Node, Bun and Deno), used by
 * xm and the SMF commands to talk to the daemon's control API.
 */
import type { request as HttpRequest } from "node:http";

/** node:http, loaded on the first request: svccfg and svcadm carry this client and rarely call. */
const httpRequest = ((...args: unknown[]) => (process.getBuiltinModule("node:http").request as (...a: unknown[]) => unknown)(...args)) as typeof HttpRequest;

/** The `code` of the error a request rejects with when the server did not answer in time. */
export const REQUEST_TIMEOUT = "XVM_REQUEST_TIMEOUT";

/** Whether `error` says the server closed the connection before it answered (it died, or was killed). */
export function connectionLost(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException | undefined;
  return e?.code === "ECONNRESET" || e?.code === "EPIPE" || /socket hang up|connection.*(closed|reset)/i.test(e?.message ?? "");
}

export interface UnixResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function unixRequest(
  socketPath: string,
  method: string,
  path: string,
  body?: unknown,
  options: { timeoutMs?: number; headers?: Record<string, string> } = {},
): Promise<UnixResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = httpRequest(
      {
        socketPath,
        method,
        path,
        headers: {
          ...(payload !== undefined ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {}),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (options.timeoutMs) {
      // An idle timeout: a stopped (SIGSTOP) or wedged server accepts the connection (the kernel
      // queues it) and never answers; the caller tells that apart by the code.
      req.setTimeout(options.timeoutMs, () =>
        req.destroy(Object.assign(new Error(`request timed out after ${options.timeoutMs} ms`), { code: REQUEST_TIMEOUT })));
    }
    req.end(payload);
  });
}

/** JSON call; a non-2xx answer with `{code,message}` becomes an Error carrying them. */
export async function unixJson<T>(socketPath: string, method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
  const res = await unixRequest(socketPath, method, path, body, { timeoutMs });
  let data: unknown = undefined;
  try {
    data = res.body ? JSON.parse(res.body) : undefined;
  } catch {
    data = res.body;
  }
  if (res.status >= 400) {
    const err = data as { code?: string; message?: string } | undefined;
    throw Object.assign(new Error(err?.message ?? `HTTP ${res.status}`), { status: res.status, code: err?.code, data });
  }
  return data as T;
}
