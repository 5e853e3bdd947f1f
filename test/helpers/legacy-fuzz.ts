/**
 * A fixed corpus of malformed requests for the legacy xend HTTP interface (bad request lines, bad
 * percent-encoding, huge headers, bad lengths, truncated bodies, disconnects mid-request,
 * byte-flipped requests, bad forms and configs), and a raw sender. None of them may change a
 * domain named web1 (or any other): shared by the unit fuzz test and the end-to-end one.
 */
import { createConnection } from "node:net";
import { libvirtGetText, parseResponse } from "./raw-http.ts";

/** How a case is sent: whole (then we read until the server closes) or cut off by us. */
export interface Case {
  kind: string;
  bytes: Buffer;
  /** Write the bytes, then drop the connection at once (truncated body, disconnect mid-request). */
  disconnect?: boolean;
  /** Expected status, when the outcome is fixed. */
  status?: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function corpus(): Case[] {
  const rand = rng(0x5e3d);
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const text = (s: string) => Buffer.from(s, "latin1");
  const end = "\r\n\r\n";
  const cases: Case[] = [];
  const add = (kind: string, b: Buffer | string, extra: Partial<Case> = {}) => cases.push({ kind, bytes: typeof b === "string" ? text(b) : b, ...extra });

  // Bad request lines.
  const lines = [
    "GET", "GET /xend/domain", "GET /xend/domain HTTP/9.9", "GET  /xend/domain  HTTP/1.1 extra", "get /xend/domain HTTP/1.1",
    "G\x00T /xend/domain HTTP/1.1", "/xend/domain HTTP/1.1", "GET xend/domain HTTP/1.1", "GET /xend/\x7fdomain HTTP/1.1",
    "GET /xend/domain HTTP/1.1 HTTP/1.1", "POST * HTTP/1.1", "CONNECT localhost:80 HTTP/1.1", "GET http://[::1/xend HTTP/1.1",
    "\r\nGET /xend/domain HTTP/1.1", "GET /xend/domain?op=destroy HTTP/1.1", "BREW /xend/domain HTTP/1.1",
    "GET /" + "x".repeat(70_000) + " HTTP/1.1",
  ];
  for (const l of lines) add("request-line", `${l}\r\nHost: localhost${end}`);
  for (let i = 0; i < 150; i++) add("random-bytes", Buffer.concat([bytes(1 + int(300)), text(end)]));
  for (let i = 0; i < 60; i++) add("random-printable", Array.from({ length: 1 + int(200) }, () => String.fromCharCode(32 + int(95))).join("") + end);

  // Bad percent-encoding in paths and queries.
  const badPaths = ["%", "%z", "%zz", "%ff%fe", "%00", "%c3%28", "we%b1", "web1%", "%%%%", "%e2%82", "%ed%a0%80"];
  // An encoded dot-dot is a dot-dot to the URL parser: this one is `/` (xend's unquote kept it a name).
  add("percent-path", libvirtGetText("/xend/domain/%2e%2e/%2e%2e"), { status: 200 });
  for (const p of badPaths) {
    add("percent-path", libvirtGetText(`/xend/domain/${p}`), { status: 404 });
    add("percent-query", libvirtGetText(`/xend/domain?state=${p}&detail=${p}`), { status: 200 });
    add("percent-op", libvirtGetText(`/xend/domain/web1?op=${p}`), { status: 200 });
  }
  for (let i = 0; i < 150; i++) {
    const junk = Array.from({ length: 1 + int(12) }, () => pick(["%", "%z", "%f", "%ff", "%0", "%G1", "+", "&", ";", "=", "a", "\u00e9"])).join("");
    add("percent-random", libvirtGetText(`/xend/domain/${encodeURI(junk).replace(/%25/g, "%")}?${junk}`));
  }

  // Huge or too many headers, and bad header syntax.
  add("huge-header", `GET /xend/domain HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"a".repeat(200_000)}${end}`);
  add("many-headers", `GET /xend/domain HTTP/1.1\r\nHost: localhost\r\n${Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join("\r\n")}${end}`);
  for (const h of ["Host localhost", ": empty-name", "Bad Header: x", "X-A: \x00", "Host: [[[", "Host: a b", "Content-Length: -1", "Content-Length: abc",
    "Content-Length: 1, 2", "Transfer-Encoding: chunked, gzip", "Expect: 100-continue-please"]) {
    add("header-syntax", `POST /xend/domain/web1 HTTP/1.1\r\nHost: localhost\r\n${h}${end}op=destroy`);
  }
  add("two-lengths", `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nContent-Length: 11${end}op=destroy`);
  add("length-and-chunked", `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\nTransfer-Encoding: chunked${end}op=destroy`);
  add("bad-chunk", `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked${end}zz\r\nop=destroy\r\n0${end}`);

  // Truncated bodies and disconnects mid-request (the op would change a domain if it arrived whole).
  const ops = ["op=destroy", "op=pause", "op=shutdown&reason=poweroff", "op=mem_target_set&target=300", "op=rename&name=x"];
  for (let i = 0; i < 120; i++) {
    const body = pick(ops);
    const cut = int(body.length);
    add("truncated-body", `POST /xend/domain/web1 HTTP/1.1\r\nHost: localhost:8000\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}${end}${body.slice(0, cut)}`, { disconnect: true });
  }
  for (let i = 0; i < 120; i++) {
    const whole = `POST /xend/domain/web1 HTTP/1.1\r\nHost: localhost:8000\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10${end}op=destroy`;
    add("disconnect-in-head", whole.slice(0, int(whole.length - 12)), { disconnect: true });
  }

  // Bodies too large for xend (13 KB) with destructive ops: refused before any op runs.
  for (let i = 0; i < 10; i++) {
    const body = `op=destroy&pad=${"p".repeat(13_000 + i)}`;
    add("oversize", `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}${end}${body}`, { status: 413 });
  }

  // Bad forms: ops with parameters that fail before the manager is asked.
  const badForms = [
    "op=mem_target_set&target=abc", "op=mem_target_set", "op=maxmem_set&memory=1e3", "op=set_vcpus&vcpus=", "op=set_vcpus&vcpus=2&vcpus=3",
    "op=shutdown&reason=explode", "op=shutdown", "op=pincpu&vcpu=x&cpumap=0", "op=pincpu&vcpu=0&cpumap=", "op=pincpu&vcpu=0&cpumap=3-1",
    "op=sysrq&key=999", "op=sysrq&key=ab", "op=rename", "op=op", "op=", "op=destroy&op=destroy", "op=pause%00", "op=PAUSE", "op=pause;op=pause",
    "op=create&config=(vm", "op=create&config=(vm (name x))", "op=create&config=", "op=create&config=(vm (name a) (memory x) (image (linux (kernel k))))",
    "op=create&config=(a)(b)", "op=create&config=(vm (name 'x) (image (linux (kernel k))))", "op=new&config=((((", "op=create&config=\x01",
  ];
  for (const form of badForms) {
    for (const path of ["/xend/domain/web1", "/xend/domain/", "/xend/node/", "/xend/domain/ghost"]) {
      // The node's shutdown and reboot are xend's harmless no-ops (200): counted apart.
      add(path === "/xend/node/" ? "bad-form-node" : "bad-form", `POST ${path} HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(form, "latin1")}${end}${form}`);
    }
  }
  for (const mp of [
    "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=zz", 'multipart/form-data; boundary="unterminated',
  ]) {
    const body = "--zz\r\nContent-Disposition: form-data; name=\"op\"\r\n\r\ndestroy\r\n--z";
    add("bad-multipart", `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: ${mp}\r\nContent-Length: ${body.length}${end}${body}`);
  }

  // Byte-flipped copies of harmless requests (GETs): whatever they become, nothing may change.
  const bases = ["/xend/domain?detail=1", "/xend/domain/web1?op=vcpuinfo", "/xend/node/", "/xend/domain/web1", "/xend/"].map(libvirtGetText);
  for (let i = 0; i < 250; i++) {
    const b = Buffer.from(pick(bases), "latin1");
    const head = b.indexOf("\r\n\r\n");
    for (let n = 1 + int(4); n > 0; n--) b[int(head)] = int(256);
    add("byte-flip", b);
  }
  return cases;
}

export interface Outcome {
  kind: string;
  status?: number;
  /** The server closed without a response (a parser refusal may do that). */
  closedWithoutAnswer?: boolean;
}

/**
 * Sends one case. A whole request is done when a complete answer has arrived (an answer may leave
 * the connection open: the runtime's own 400s keep HTTP/1.1 connections alive) or the server
 * closes; a disconnect case is done when our side is closed.
 */
export function send(sock: string, c: Case): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path: sock });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => {
      done = true;
      s.destroy();
      reject(new Error(`${c.kind}: no answer and no close within 10 s for ${JSON.stringify(c.bytes.toString("latin1").slice(0, 120))}`));
    }, 10_000);
    s.on("data", (d: Buffer) => {
      chunks.push(d);
      try {
        finish({ kind: c.kind, status: parseResponse(Buffer.concat(chunks)).status });
      } catch {
        // not complete yet
      }
    });
    s.on("error", () => undefined);
    s.on("close", () => {
      if (done) return;
      const raw = Buffer.concat(chunks);
      if (c.disconnect) return finish({ kind: c.kind });
      if (raw.length === 0) return finish({ kind: c.kind, closedWithoutAnswer: true });
      done = true;
      clearTimeout(timer);
      reject(new Error(`${c.kind}: unreadable answer ${JSON.stringify(raw.toString("latin1").slice(0, 200))}`));
    });
    s.once("connect", () => {
      s.write(c.bytes);
      if (c.disconnect) s.destroy();
    });
  });
}

