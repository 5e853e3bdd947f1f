/**
 * Reading a legacy request the way xend's `web/http.py` did: query arguments with `cgi.parse_qs`
 * (blank values dropped), POST bodies form-urlencoded (blank values kept) or multipart, at most
 * 10000 bytes of body, body arguments replacing query arguments of the same name.
 */

/** xend's `HttpRequest.max_content_length`. */
export const MAX_BODY_BYTES = 10000;

/** xend's ArgError: a bad parameter, answered as 500 `(xend.err '<message>')` like any failed op. */
export class ArgError extends Error {
  override readonly name = "ArgError";
}

/** The request could not be read at all (body too large, malformed multipart, client gone). */
export class RequestError extends Error {
  constructor(readonly status: 400 | 413, message: string) {
    super(message);
  }
}

const utf8 = new TextEncoder();
const lenientUtf8 = new TextDecoder("utf-8");

/**
 * Python's `urllib.unquote`: `%HH` becomes a byte, an invalid `%` sequence stays as it is (so a bad
 * encoding gives a name no domain has, not a failed request). Bytes are read as UTF-8.
 */
export function unquote(s: string, plusIsSpace = false): string {
  if (plusIsSpace) s = s.replace(/\+/g, " ");
  if (!s.includes("%")) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
      continue;
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    for (const b of utf8.encode(ch)) bytes.push(b);
    i += ch.length;
  }
  return lenientUtf8.decode(Uint8Array.from(bytes));
}

/** Python's `urllib.quote` (safe `/`), for the paths written into `Location`. */
export function quote(s: string): string {
  return encodeURIComponent(s).replace(/%2F/gi, "/").replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `cgi.parse_qs`: pairs split on `&` and `;`, `+` is a space, a pair without `=` is dropped unless blanks are kept. */
export function parseQs(qs: string, keepBlank: boolean, into: Map<string, string[]> = new Map()): Map<string, string[]> {
  for (const part of qs.split(/[&;]/)) {
    if (!part) continue;
    const eq = part.indexOf("=");
    if (eq < 0 && !keepBlank) continue;
    const key = unquote(eq < 0 ? part : part.slice(0, eq), true);
    const value = eq < 0 ? "" : unquote(part.slice(eq + 1), true);
    if (value === "" && !keepBlank) continue;
    const list = into.get(key);
    if (list) list.push(value);
    else into.set(key, [value]);
  }
  return into;
}

/** Reads at most {@link MAX_BODY_BYTES}; more is a 413, a body that breaks off a 400. */
export async function readBody(request: Request): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > MAX_BODY_BYTES) throw new RequestError(413, "Request entity too large");
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > MAX_BODY_BYTES) {
        void reader.cancel().catch(() => undefined);
        throw new RequestError(413, "Request entity too large");
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw new RequestError(400, "Bad request (body not received)");
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** The form of a POST body: urlencoded or multipart, else nothing (xend ignored other types). */
export async function parseBody(request: Request, body: Uint8Array): Promise<Map<string, string[]>> {
  const type = request.headers.get("content-type") ?? "";
  const mime = type.split(";")[0]!.trim().toLowerCase();
  if (mime === "application/x-www-form-urlencoded") return parseQs(lenientUtf8.decode(body), true);
  if (mime !== "multipart/form-data") return new Map();
  let form: FormData;
  try {
    form = await new Response(body, { headers: { "content-type": type } }).formData();
  } catch {
    throw new RequestError(400, "Bad request (malformed multipart body)");
  }
  const out = new Map<string, string[]>();
  for (const [key, value] of form.entries()) {
    const text = typeof value === "string" ? value : await value.text();
    const list = out.get(key);
    if (list) list.push(text);
    else out.set(key, [text]);
  }
  return out;
}

const INT = /^\s*[+-]?\d+\s*$/;

/** A request's arguments, read with xend's rules (FormFn, Args.coerce). */
export class FormArgs {
  constructor(readonly values: ReadonlyMap<string, readonly string[]>) {}

  /** The op, or undefined when it is missing or sent more than once (406 either way, as in xend). */
  op(): string | undefined {
    const v = this.values.get("op");
    return v && v.length === 1 ? v[0] : undefined;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** One value. Identical duplicates are one value (libvirt sends `live` twice); differing ones are refused. */
  get(name: string): string | undefined {
    const v = this.values.get(name);
    if (!v || v.length === 0) return undefined;
    if (v.some((x) => x !== v[0])) throw new ArgError(`Too many values for ${name}`);
    return v[0];
  }

  require(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw new ArgError(`Missing parameter: ${name}`);
    return v;
  }

  /** Python's `int()` with its message for a bad literal. */
  int(name: string): number {
    const v = this.require(name);
    if (!INT.test(v)) throw new ArgError(`invalid literal for int() with base 10: '${v}'`);
    const n = Number.parseInt(v, 10);
    if (!Number.isSafeInteger(n)) throw new ArgError(`${name} out of range: ${v}`);
    return n;
  }

  /** Each of `names` that was sent, once (for ops contributed by other plugins). */
  pick(required: readonly string[], optional: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of required) out[name] = this.require(name);
    for (const name of optional) {
      const v = this.get(name);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }
}

/** Query arguments, then the body's (replacing same-named ones, as `dict.update` did). */
export async function readArgs(request: Request, url: URL): Promise<FormArgs> {
  const query = url.search.length > 1 ? parseQs(url.search.slice(1), false) : new Map<string, string[]>();
  if (request.method !== "POST") return new FormArgs(query);
  const body = await readBody(request);
  for (const [k, v] of await parseBody(request, body)) query.set(k, v);
  return new FormArgs(query);
}

/** xend's `useSxp`: SXP unless the client sent both a User-Agent and an Accept without application/sxp. */
export function wantsSxp(request: Request): boolean {
  const agent = request.headers.get("user-agent");
  const accept = request.headers.get("accept");
  return !agent || !accept || accept.includes("application/sxp");
}
