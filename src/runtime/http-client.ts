/**
 * A small HTTP client over a Unix socket, used by xm and the SMF commands to talk to the daemon's
 * control API: node:http on Node and Deno, Bun's fetch on Bun (see bunRequest).
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
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  if ((globalThis as { Bun?: unknown }).Bun !== undefined) return bunRequest(socketPath, method, path, payload, options);
  return new Promise((resolve, reject) => {
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

/**
 * The same request through Bun's own fetch, which speaks HTTP over a Unix socket natively: on Bun,
 * node:http costs some 50 ms of CPU to load and run, several times a whole `xm list` otherwise
 * (docs/architecture.md, "Start-up"). Errors are given node:http's codes and messages (ENOENT and
 * ECONNREFUSED for no daemon, "socket hang up" for one that went away, REQUEST_TIMEOUT for the idle
 * timeout), which is what the callers tell apart.
 */
async function bunRequest(
  socketPath: string,
  method: string,
  path: string,
  payload: string | undefined,
  options: { timeoutMs?: number; headers?: Record<string, string> },
): Promise<UnixResponse> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // An idle timeout, as node:http's setTimeout: re-armed whenever bytes arrive.
  const arm = () => {
    if (!options.timeoutMs) return;
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), options.timeoutMs);
  };
  arm();
  try {
    const init = {
      method,
      headers: { ...(payload !== undefined ? { "content-type": "application/json" } : {}), ...options.headers },
      body: payload,
      signal: abort.signal,
      unix: socketPath,
    };
    const res = await fetch(`http://localhost${path}`, init as RequestInit);
    const chunks: Uint8Array[] = [];
    const reader = res.body?.getReader();
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        arm();
      }
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => {
      headers[key] = value;
    });
    return { status: res.status, headers, body: Buffer.concat(chunks).toString("utf8") };
  } catch (error) {
    if (abort.signal.aborted) throw Object.assign(new Error(`request timed out after ${options.timeoutMs} ms`), { code: REQUEST_TIMEOUT });
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ECONNREFUSED") throw Object.assign(new Error(`connect ${code} ${socketPath}`), { code, syscall: "connect", address: socketPath });
    if (code === "ECONNRESET") throw Object.assign(new Error("socket hang up"), { code });
    throw error;
  } finally {
    clearTimeout(timer);
  }
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
