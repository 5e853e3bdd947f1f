/**
 * Building legacy responses: SXP for programs, a small HTML page for browsers, and the headers xend
 * always sent. xend wrote `Request failed: <op>` and similar texts as the status line's reason; the
 * runtime adapters write the standard reason phrase, which is all libvirt looked at (the code).
 */
import { sxp, type Sxp } from "xvm/plugin";

const { show, SXP_MIME_TYPE } = sxp;

export interface Reply {
  status: number;
  /** Omitted: an empty body with no Content-Type (what xend sent for ops that return nothing). */
  body?: string;
  type?: string;
  location?: string;
  /** `body` already encoded (a reply kept for the next request: src/app.ts detailList). */
  bytes?: Uint8Array;
}

export const utf8 = new TextEncoder();

/** Keep the connection only when the client asked for it, as xend did (HTTP/1.0 style otherwise). */
function keepAlive(request: Request): boolean {
  const tokens = (request.headers.get("connection") ?? "").toLowerCase().split(",").map((t) => t.trim());
  return tokens.includes("keep-alive") && !tokens.includes("close");
}

/** `close`: end the connection whatever the client asked (the request was not read to its end). */
export function toResponse(request: Request, reply: Reply, close = false): Response {
  const headers = new Headers({
    Pragma: "no-cache",
    "Cache-Control": "no-cache",
    Expires: "-1",
    Connection: !close && keepAlive(request) ? "keep-alive" : "close",
  });
  // Encoded once, here: the length header and the body are the same bytes.
  const body = reply.bytes ?? (reply.body ? utf8.encode(reply.body) : null);
  headers.set("Content-Length", String(body?.byteLength ?? 0));
  if (reply.type) headers.set("Content-Type", reply.type);
  if (reply.location) headers.set("Location", reply.location);
  return new Response(body, { status: reply.status, headers });
}

export function sxpReply(value: Sxp, status = 200): Reply {
  return { status, body: show(value), type: SXP_MIME_TYPE };
}

export function textReply(status: number, text: string): Reply {
  return { status, body: text, type: "text/plain" };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `<h1>` with a link for each element of the path, as xend's printPath. */
export function pathLinks(segments: readonly string[]): string {
  let href = "/";
  let out = '<h1><a href="/">/</a>';
  for (const s of segments) {
    href += encodeURIComponent(s) + "/";
    out += ` <a href="${escapeHtml(href)}">${escapeHtml(s)}</a>/`;
  }
  return out + "</h1>";
}

export function htmlReply(segments: readonly string[], content: string, status = 200): Reply {
  return {
    status,
    body: `<html><head><title>xend</title></head><body>${pathLinks(segments)}${content}</body></html>`,
    type: "text/html; charset=utf-8",
  };
}

/** Indented SXP for people, as xm's PrettyPrint laid it out (one nested list per line). */
export function prettySxp(value: Sxp, indent = 0): string {
  if (!Array.isArray(value)) return show(value);
  const items = value as readonly Sxp[];
  if (!items.some((i) => Array.isArray(i) && (i as readonly Sxp[]).some(Array.isArray))) return show(value);
  const pad = " ".repeat(indent + 4);
  const [head, ...rest] = items;
  const lines = rest.map((i) => pad + prettySxp(i, indent + 4));
  return `(${show(head ?? "")}\n${lines.join("\n")}\n${" ".repeat(indent)})`;
}

export function htmlSxp(value: Sxp): string {
  return `<pre>${escapeHtml(prettySxp(value))}</pre>`;
}
