/**
 * Raw HTTP/1.x over a Unix socket (or TCP) with node:net, no HTTP client library: what libvirt's
 * old Xen driver did (`src/xen/xend_internal.c`): a new connection per request, `Host:
 * localhost:8000`, `Accept-Encoding: identity`, a form-urlencoded Content-Type, no User-Agent and
 * no Accept, so xend answers SXP.
 */
import { createConnection, type Socket } from "node:net";

export interface RawResponse {
  statusLine: string;
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Map<string, string>;
  body: string;
}

export type Target = string | { host: string; port: number };

function connect(target: Target): Socket {
  return typeof target === "string" ? createConnection({ path: target }) : createConnection({ host: target.host, port: target.port });
}

/**
 * Sends `request` and collects everything until the server closes the connection (or `timeoutMs`
 * passes, which rejects). `halfClose` ends our side after sending.
 */
export function exchange(target: Target, request: string | Uint8Array, options: { timeoutMs?: number; halfClose?: boolean } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(target);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of response within ${options.timeoutMs ?? 10_000} ms; got: ${JSON.stringify(Buffer.concat(chunks).toString("latin1").slice(0, 300))}`));
    }, options.timeoutMs ?? 10_000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A server that closes as soon as it has answered may reset a client still writing.
      if (error.code === "EPIPE" || error.code === "ECONNRESET") return;
      clearTimeout(timer);
      reject(error);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.once("connect", () => {
      socket.write(request);
      if (options.halfClose) socket.end();
    });
  });
}

/** Splits one response (status line, headers, then Content-Length bytes of body). */
export function parseResponse(raw: Buffer | string): RawResponse & { rest: Buffer } {
  const buf = typeof raw === "string" ? Buffer.from(raw, "latin1") : raw;
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no complete header in ${JSON.stringify(buf.toString("latin1").slice(0, 200))}`);
  const [statusLine, ...lines] = buf.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine!);
  if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const k = line.slice(0, colon).trim().toLowerCase();
    const v = line.slice(colon + 1).trim();
    headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
  }
  const length = Number(headers.get("content-length") ?? "0");
  const bodyBytes = buf.subarray(end + 4, end + 4 + length);
  if (bodyBytes.length < length) throw new Error(`body cut short: ${bodyBytes.length} of ${length} bytes`);
  return { statusLine: statusLine!, status: Number(m[1]), headers, body: bodyBytes.toString("utf8"), rest: buf.subarray(end + 4 + length) };
}

export async function request(target: Target, text: string | Uint8Array, timeoutMs?: number): Promise<RawResponse> {
  return parseResponse(await exchange(target, text, { timeoutMs }));
}

/** libvirt's old `urlencode()`: only spaces and newlines were encoded. */
export function libvirtEncode(value: string): string {
  return value.replace(/[ \n]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `xend_get`: exactly the bytes libvirt sent. */
export function libvirtGetText(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n`;
}

/** `xend_post`: exactly the bytes libvirt sent; `pairs` are encoded with {@link libvirtEncode}. */
export function libvirtPostText(path: string, pairs: [string, string][]): string {
  const body = pairs.map(([k, v]) => `${k}=${libvirtEncode(v)}`).join("&");
  return `POST ${path} HTTP/1.1\r\nHost: localhost:8000\r\nAccept-Encoding: identity\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

export function libvirtGet(target: Target, path: string): Promise<RawResponse> {
  return request(target, libvirtGetText(path));
}

export function libvirtPost(target: Target, path: string, pairs: [string, string][]): Promise<RawResponse> {
  return request(target, libvirtPostText(path, pairs));
}
