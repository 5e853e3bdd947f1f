/**
 * The legacy xend HTTP interface as a Hono app: xend's `/xend/…` tree (`SrvRoot`, `SrvNode`,
 * `SrvDomainDir`, `SrvDomain`) with its status codes and formats.
 *
 * Choices where xend's own behaviour was an accident (each written down here, where it happens):
 * - An unknown domain answers 404 with `(xend.err "Domain 'x' does not exist.")`. xend's lookup
 *   raised an exception its directory code did not catch, which ended as a 500 with an empty body;
 *   libvirt treats a 404 on `/xend/domain/…` as "no such domain", which is what it means.
 * - `GET /xend/domain` without `state=` lists every domain that exists (running, blocked, paused,
 *   crashed); xend filtered on the power state `running`, which hid paused domains from libvirt's
 *   list of active domains. `state=` filters as xend did; with `detail=1` it filters too.
 * - `/xend/` lists `node domain`: there are no vnets to list.
 * - `Location` uses the client's `Host` header as given (libvirt sends `localhost:8000`, even over
 *   the Unix socket), and `…/xend/domain/<name>` for a created domain (xend wrote a doubled slash).
 * - In HTML mode lists are shown indented (xend's HTML mode failed on them with a NameError).
 */
import { Hono, type Context } from "hono";
import { configFromSxp, domainToSxp, nodeToSxp, sxp, XvmError, type DomainManager, type DomainSummary, type LegacyHttpRegistry, type Logger, type PhysInfo, type Sxp } from "xvm/plugin";
import { DOMAIN_OPS } from "./domain-ops.ts";
import { escapeHtml, htmlReply, htmlSxp, sxpReply, textReply, toResponse, utf8, type Reply } from "./reply.ts";
import { ArgError, FormArgs, quote, readArgs, RequestError, unquote, wantsSxp } from "./request.ts";

const { parse, show, SxpParseError, SXP_MIME_TYPE } = sxp;

export interface XendAppDeps {
  domains: DomainManager;
  physInfo(): Promise<PhysInfo>;
  /** The contents of xend's log file (`/xend/node/log`). */
  readLog(): Promise<string>;
  /** Ops contributed by other plugins (dump, migrate). */
  ops?: LegacyHttpRegistry;
  log: Logger;
}

interface LegacyRequest {
  raw: Request;
  sxp: boolean;
  /** Path elements, URL-unquoted one by one as xend did. */
  segments: string[];
  args: FormArgs;
  /** `http://<Host>`, for Location headers. */
  origin: string;
}

const HOST = /^[A-Za-z0-9.\-:[\]]+$/;

function notFoundDomain(dom: string): XvmError {
  return new XvmError("DOMAIN_NOT_FOUND", { dom });
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "DOMAIN_NOT_FOUND";
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Power-state name of a domain, for `?state=` (halted is an inactive managed domain). */
function powerName(d: DomainSummary): string {
  if (d.domid === null) return "halted";
  if (d.flags.crashed) return "crashed";
  if (d.flags.shutdown || d.flags.dying) return "shutdown";
  if (d.flags.paused) return "paused";
  return "running";
}

function sortDomains(list: DomainSummary[]): DomainSummary[] {
  return [...list].sort((a, b) =>
    a.domid !== null && b.domid !== null ? a.domid - b.domid
      : a.domid !== null ? -1 : b.domid !== null ? 1 : a.name.localeCompare(b.name));
}

/**
 * Bun hands a request without `Host` a relative URL, and one with a malformed `Host` a URL that
 * does not parse; both are rebuilt on `http://localhost` so routing sees the real path.
 */
export function withAbsoluteUrl(request: Request): Request {
  if (URL.canParse(request.url)) return request;
  const path = request.url.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, "");
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers: request.headers };
  if (request.body) {
    init.body = request.body;
    init.duplex = "half";
  }
  return new Request(`http://localhost${path.startsWith("/") ? path : `/${path}`}`, init);
}

/**
 * A domain's SXP text, as `show(domainToSxp(d))` writes it, kept per config object: the domain
 * manager hands out one shared copy of each config (src/domain/summaries.ts), so the text is
 * written again only when the config or one of the figures beside it (state, memory, CPU time…)
 * changed. With 20 domains, writing every record on every `GET /xend/domain?detail=1` was most of
 * the request's cost (issue 16 §3). test/unit/legacy-render.test.ts checks it against a fresh one.
 */
/** Every field of the summary domainToSxp reads besides the config, as they were when written. */
interface TextFields {
  domid: number | null; maxvcpus: number; maxmem: number; memory: number; vcpus: number; startTime: number; cpuTime: number;
  state: string; shutdown: boolean; crashed: boolean; dying: boolean; paused: boolean; uuid: string; name: string;
}

const rendered = new WeakMap<object, { fields: TextFields; text: string }>();

function sameFields(a: TextFields, d: DomainSummary): boolean {
  const f = d.flags;
  return a.domid === d.domid && a.cpuTime === d.cpuTime && a.state === d.state && a.memory === d.memory && a.maxmem === d.maxmem &&
    a.vcpus === d.vcpus && a.maxvcpus === d.maxvcpus && a.startTime === d.startTime && a.shutdown === f.shutdown &&
    a.crashed === f.crashed && a.dying === f.dying && a.paused === f.paused && a.uuid === d.uuid && a.name === d.name;
}

export function domainText(d: DomainSummary): string {
  // Compared field by field: building a key string (or JSON.stringify) cost as much as writing.
  const hit = rendered.get(d.config);
  if (hit && sameFields(hit.fields, d)) return hit.text;
  const text = show(domainToSxp(d));
  const f = d.flags;
  rendered.set(d.config, {
    fields: {
      domid: d.domid, maxvcpus: d.maxvcpus, maxmem: d.maxmem, memory: d.memory, vcpus: d.vcpus, startTime: d.startTime, cpuTime: d.cpuTime,
      state: d.state, shutdown: f.shutdown, crashed: f.crashed, dying: f.dying, paused: f.paused, uuid: d.uuid, name: d.name,
    },
    text,
  });
  return text;
}

export function createXendApp(deps: XendAppDeps): Hono {
  const app = new Hono();
  const log = deps.log;

  async function filtered(args: FormArgs): Promise<DomainSummary[]> {
    const all = sortDomains(await deps.domains.list());
    const state = args.values.get("state")?.[0]?.toLowerCase();
    if (state === undefined) return all.filter((d) => d.domid !== null);
    if (state === "all") return all;
    return all.filter((d) => powerName(d) === state);
  }

  async function lookup(dom: string): Promise<DomainSummary> {
    try {
      return await deps.domains.get(dom);
    } catch (error) {
      if (isNotFound(error)) throw notFoundDomain(dom);
      throw error;
    }
  }

  /** The error answer: 404 for an unknown domain, else 500 with `(xend.err …)` as SrvBase.perform. */
  function failure(req: LegacyRequest, error: unknown, what: string): Reply {
    const status = isNotFound(error) ? 404 : 500;
    const message = errorText(error);
    if (status === 500) log.warn(`Request ${what} failed: ${message}`);
    return req.sxp ? sxpReply(["xend.err", message], status) : htmlReply(req.segments, `<p>${escapeHtml(message)}</p>`, status);
  }

  function result(req: LegacyRequest, value: Sxp | undefined, status = 200): Reply {
    if (value === undefined) return { status };
    return req.sxp ? sxpReply(value, status) : htmlReply(req.segments, htmlSxp(value), status);
  }

  /** xend's `perform`: exactly one op (else 406), a known one (else 501), errors as 500. */
  async function perform(
    req: LegacyRequest,
    ops: Record<string, (req: LegacyRequest) => Promise<Reply>>,
    extra?: (op: string) => ((req: LegacyRequest) => Promise<Reply>) | undefined,
  ): Promise<Reply> {
    const op = req.args.op();
    if (op === undefined) return { status: 406 };
    const fn = Object.hasOwn(ops, op) ? ops[op] : extra?.(op);
    if (!fn) return textReply(501, `Operation not implemented: ${op}`);
    try {
      return await fn(req);
    } catch (error) {
      return failure(req, error, op);
    }
  }

  function route(handler: (req: LegacyRequest, c: Context) => Promise<Reply>) {
    return async (c: Context): Promise<Response> => {
      const raw = c.req.raw;
      const url = new URL(raw.url);
      const host = raw.headers.get("host") ?? "";
      const segments = url.pathname.split("/").filter((s) => s !== "").map((s) => unquote(s));
      let req: LegacyRequest | undefined;
      try {
        const args = await readArgs(raw, url);
        req = { raw, sxp: wantsSxp(raw), segments, args, origin: `http://${HOST.test(host) ? host : "localhost"}` };
        return toResponse(raw, await handler(req, c));
      } catch (error) {
        if (error instanceof RequestError) return toResponse(raw, textReply(error.status, error.message), true);
        if (req && (error instanceof ArgError || error instanceof XvmError || error instanceof SxpParseError)) {
          return toResponse(raw, failure(req, error, c.req.method));
        }
        log.error(`legacy HTTP ${c.req.method} ${url.pathname}: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        return toResponse(raw, req ? failure(req, error, c.req.method) : textReply(500, "Internal server error"), true);
      }
    };
  }

  app.use(async (c, next) => {
    const m = c.req.method;
    if (m !== "GET" && m !== "HEAD" && m !== "POST") {
      return toResponse(c.req.raw, textReply(501, `Request method not supported (${m})`));
    }
    await next();
  });

  const listing = (children: string[]) =>
    route(async (req) => {
      if (req.raw.method === "POST") return perform(req, {});
      if (req.sxp) return { status: 200, body: `(ls ${children.map((k) => " " + k).join("")})`, type: "application/sxp" };
      const base = "/" + req.segments.map(encodeURIComponent).join("/");
      const items = children.map((k) => `<li><a href="${escapeHtml(base === "/" ? `/${k}/` : `${base}/${k}/`)}">${k}</a></li>`);
      return htmlReply(req.segments, `<ul>${items.join("")}</ul>`);
    });

  app.on(["GET", "POST"], ["/"], listing(["xend"]));
  app.on(["GET", "POST"], ["/xend", "/xend/"], listing(["node", "domain"]));

  // ---- /xend/node/ -------------------------------------------------------------------------
  app.on(["GET", "POST"], ["/xend/node", "/xend/node/"], route(async (req) => {
    if (req.raw.method === "POST") {
      // xend's node shutdown and reboot did nothing and answered 0.
      const nop = async (r: LegacyRequest) => result(r, 0);
      return perform(req, { shutdown: nop, reboot: nop });
    }
    return result(req, nodeToSxp(await deps.domains.nodeInfo()));
  }));

  app.on(["GET", "POST"], ["/xend/node/dmesg", "/xend/node/dmesg/"], route(async (req) => {
    if (req.raw.method === "POST") {
      return perform(req, {
        clear: async (r) => {
          deps.domains.dmesg(true);
          return result(r, undefined);
        },
      });
    }
    return textReply(200, deps.domains.dmesg(false));
  }));

  app.on(["GET", "POST"], ["/xend/node/log", "/xend/node/log/"], route(async (req) => {
    if (req.raw.method === "POST") return perform(req, {});
    return textReply(200, await deps.readLog());
  }));

  // ---- /xend/domain/ -----------------------------------------------------------------------
  async function configArg(req: LegacyRequest) {
    const text = req.args.require("config");
    let node;
    try {
      node = parse(text);
    } catch (error) {
      throw new ArgError(`Invalid configuration ${errorText(error)}`);
    }
    try {
      return configFromSxp(node);
    } catch (error) {
      throw new ArgError(`Error creating domain: ${errorText(error)}`);
    }
  }

  /** The last detail list written, kept while every record's text is the same string. */
  let lastDetail: { texts: string[]; reply: Reply } | undefined;

  async function detailList(req: LegacyRequest): Promise<Reply> {
    const list = await filtered(req.args);
    if (!req.sxp) return domainDirPage(req, list);
    // show() of the list, from each record's kept text; kept encoded while nothing changed.
    const texts = list.map(domainText);
    const last = lastDetail;
    if (last && last.texts.length === texts.length && texts.every((t, i) => t === last.texts[i])) return last.reply;
    const body = `(${texts.join(" ")})`;
    const reply: Reply = { status: 200, body, bytes: utf8.encode(body), type: SXP_MIME_TYPE };
    lastDetail = { texts, reply };
    return reply;
  }

  function domainDirPage(req: LegacyRequest, list: DomainSummary[]): Reply {
    const items = list.map((d) =>
      `<li><a href="/xend/domain/${escapeHtml(encodeURIComponent(d.name))}">Domain ${escapeHtml(d.name)}</a>: ` +
      `id = ${d.domid ?? "None"}, memory = ${d.memory}</li>`);
    const form = '<form method="post" action="/xend/domain/" enctype="multipart/form-data">' +
      '<button type="submit" name="op" value="create">Create Domain</button> ' +
      'Config (SXP) <input type="file" name="config"></form>';
    return htmlReply(req.segments, `<ul>${items.join("")}</ul>${form}`);
  }

  app.on(["GET", "POST"], ["/xend/domain", "/xend/domain/"], route(async (req) => {
    if (req.raw.method === "POST") {
      return perform(req, {
        create: async (r) => {
          const config = await configArg(r);
          let created: DomainSummary;
          try {
            created = await deps.domains.create(config);
          } catch (error) {
            throw new ArgError(`Error creating domain: ${errorText(error)}`);
          }
          log.info(`legacy HTTP: created domain ${created.name} (${created.domid})`);
          const location = `${r.origin}/xend/domain/${quote(created.name)}`;
          return { ...result(r, domainToSxp(created), 201), location };
        },
        new: async (r) => {
          const config = await configArg(r);
          try {
            await deps.domains.define(config);
          } catch (error) {
            throw new ArgError(`Error creating domain: ${errorText(error)}`);
          }
          return result(r, undefined);
        },
        list: detailList,
      });
    }
    const detail = req.args.values.get("detail");
    if (detail?.length === 1 && detail[0] === "1") return detailList(req);
    const list = await filtered(req.args);
    return req.sxp ? sxpReply(list.map((d) => d.name)) : domainDirPage(req, list);
  }));

  function domainOp(op: string, dom: DomainSummary, method: string) {
    const builtin = Object.hasOwn(DOMAIN_OPS, op) ? DOMAIN_OPS[op] : undefined;
    const contributed = builtin ? undefined : deps.ops?.domainOp(op);
    if (!builtin && !contributed) return undefined;
    if (method !== "POST" && !(builtin ?? contributed)!.get) return undefined;
    return async (req: LegacyRequest): Promise<Reply> => {
      log.debug(`legacy HTTP: op=${op} on ${dom.name}`);
      const accepted = (builtin ?? contributed)!.accepted === true;
      const value = builtin
        ? await builtin.run(dom, req.args, { domains: deps.domains, nrCpus: async () => (await deps.physInfo()).nrCpus })
        : await contributed!.run(dom, req.args.pick(contributed!.params ?? [], contributed!.optional ?? []));
      if (!accepted) return result(req, value);
      const location = `${req.origin}/${req.segments.map(quote).join("/")}/..`;
      return { ...result(req, value, 202), location };
    };
  }

  function domainPage(req: LegacyRequest, d: DomainSummary): Reply {
    const action = escapeHtml(`/xend/domain/${encodeURIComponent(d.name)}`);
    const button = (op: string, extra = "") =>
      `<form method="post" action="${action}"><input type="submit" name="op" value="${op}">${extra}</form>`;
    const forms = [
      button("pause"), button("unpause"), button("destroy"),
      button("shutdown", ['poweroff', 'halt', 'reboot']
        .map((r, i) => ` <input type="radio" name="reason" value="${r}"${i === 0 ? " checked" : ""}>${r}`).join("")),
    ].join("");
    return htmlReply(req.segments, `<p>Domain ${escapeHtml(d.name)} (id ${d.domid ?? "None"}, state ${escapeHtml(d.state)})</p>${htmlSxp(domainToSxp(d))}${forms}`);
  }

  app.on(["GET", "POST"], ["/xend/domain/:dom", "/xend/domain/:dom/"], route(async (req) => {
    const name = req.segments[2]!;
    const dom = await lookup(name);
    const op = req.args.op();
    if (req.raw.method !== "POST") {
      const fn = op === undefined ? undefined : domainOp(op, dom, "GET");
      if (fn) return perform(req, { [op!]: fn });
      return req.sxp ? sxpReply(domainToSxp(dom)) : domainPage(req, dom);
    }
    return perform(req, {}, (o) => domainOp(o, dom, "POST"));
  }));

  app.notFound((c) => toResponse(c.req.raw, { status: 404 }));
  app.onError((error, c) => {
    log.error(`legacy HTTP ${c.req.method}: ${error.stack ?? error.message}`);
    return toResponse(c.req.raw, textReply(500, "Internal server error"), true);
  });
  return app;
}
