/**
 * The control API's domain routes, mounted by the daemon at `/domains` (HTTP+JSON on the control
 * socket; `xm` is a client of these and nothing else). Built with the daemon's ApiRouter, so each
 * route's valibot schemas both validate requests and document it in `/openapi.json`; errors are
 * `{code, message}` with the status of the code in src/errors.ts.
 *
 * Host-level information (`xm info`, `xm dmesg`, `xm log`) hangs off Domain-0, which stands for
 * this host: `/domains/0/node`, `/domains/0/dmesg`, `/domains/0/log` (any name of Domain-0 works).
 *
 * `GET /domains/{dom}/console?follow=1` streams NDJSON lines: `{"data": "…"}` for output (first
 * what the console holds, then what comes), `{"ping": 1}` every few seconds so that idle consoles
 * keep their connection, and `{"end": "<why>"}` when the domain goes away. One `{"live": 1}` line
 * follows the history, so that a client whose input has ended (`xm console < file`) knows when it
 * has shown what the console held.
 */
import { readFileSync } from "node:fs";
import { Hono } from "hono";
import * as v from "valibot";
import { ApiRouter } from "./api-router.ts";
import { deviceRoutes } from "./device-routes.ts";
import { saveRoutes } from "./save-routes.ts";
import { xendActionRoutes } from "./xend-action-routes.ts";
import { XvmError, errorMessage } from "../errors.ts";
import { Paths } from "../paths.ts";
import {
  DomainConfigSchema, DomainListSchema, DomainSummarySchema, NodeInfoSchema, OkSchema, VcpuInfoSchema,
} from "../domain/api-schemas.ts";
import { parseCpuList } from "../domain/cpus.ts";
import { powerState, type PowerState } from "../domain/state.ts";
import type { DomainConfig, DomainManager, DomainSummary } from "../domain/types.ts";

export interface DomainRoutesOptions {
  /** xend's log file (`xm log`); default var/log/xen/xend.log under the state root. */
  logFile?: () => string;
  /** Console keep-alive interval, ms (default 5000). */
  pingMs?: number;
}

const tags = ["domains"];
const DomParams = v.object({ dom: v.pipe(v.string(), v.description("Domain name, id or uuid")) });
const PausedBody = v.optional(v.object({ paused: v.optional(v.boolean(), false) }), { paused: false });
const CreateBody = v.object({
  config: DomainConfigSchema,
  paused: v.optional(v.pipe(v.boolean(), v.description("Leave the new domain paused")), false),
});
const TextSchema = v.object({ text: v.string() });
const POWER_STATES = ["running", "paused", "halted", "crashed", "suspended", "all"] as const;

function isDom0(d: DomainSummary): boolean {
  return d.domid === 0;
}

async function requireDom0(manager: DomainManager, dom: string): Promise<void> {
  const d = await manager.get(dom);
  if (!isDom0(d)) throw new XvmError("XVM_NOT_FOUND", { detail: `host information belongs to Domain-0 (this host), not to '${dom}': use /domains/0/…` });
}

export function domainRoutes(manager: DomainManager, options: DomainRoutesOptions = {}): Hono {
  const api = new ApiRouter(new Hono());
  const logFile = options.logFile ?? (() => new Paths().xendLog);
  const pingMs = options.pingMs ?? 5000;

  api.route({
    method: "get", path: "/", tags,
    summary: "All domains: Domain-0, running guests and inactive managed domains, sorted by name",
    query: v.object({ state: v.optional(v.pipe(v.picklist(POWER_STATES), v.description("Only domains in this power state"))) }),
    response: DomainListSchema,
  }, async ({ query }) => {
    const all = await manager.list();
    const want = query.state;
    const state = (d: DomainSummary): PowerState => (d.suspended ? "suspended" : powerState(d.flags, d.domid !== null));
    const domains = !want || want === "all" ? all : all.filter((d) => state(d) === (want as PowerState));
    return { domains };
  });

  api.route({
    method: "post", path: "/", tags, status: 201,
    summary: "Create and start a domain (xm create)",
    description: "The config is checked before anything is created; vifs without a MAC get one in 00:16:3e:xx:xx:xx.",
    body: CreateBody, response: DomainSummarySchema,
  }, ({ body }) => manager.create(body.config as DomainConfig, { paused: body.paused }));

  api.route({
    method: "post", path: "/define", tags, status: 201,
    summary: "Add a domain to xend's management without starting it (xm new); again with the same name replaces its config",
    body: v.object({ config: DomainConfigSchema }), response: DomainSummarySchema,
  }, ({ body }) => manager.define(body.config as DomainConfig));

  api.route({
    method: "get", path: "/:dom", tags, summary: "One domain, by name, id or uuid",
    params: DomParams, response: DomainSummarySchema,
  }, ({ params }) => manager.get(params.dom));

  api.route({
    method: "delete", path: "/:dom", tags, summary: "Remove an inactive managed domain from xend's management (xm delete)",
    params: DomParams, response: OkSchema,
  }, async ({ params }) => {
    await manager.undefine(params.dom);
    return { ok: true as const };
  });

  api.route({
    method: "post", path: "/:dom/start", tags, summary: "Start an inactive managed domain (xm start)",
    params: DomParams, body: PausedBody, response: DomainSummarySchema,
  }, ({ params, body }) => manager.start(params.dom, { paused: body.paused }));

  api.route({
    method: "post", path: "/:dom/destroy", tags, summary: "Terminate a domain immediately (xm destroy)",
    params: DomParams, body: v.optional(v.object({})), response: OkSchema,
  }, async ({ params }) => {
    await manager.destroy(params.dom);
    return { ok: true as const };
  });

  api.route({
    method: "post", path: "/:dom/shutdown", tags,
    summary: "Ask a guest to shut down or reboot (xm shutdown, xm reboot); its on_poweroff/on_reboot action follows",
    description: "Answers at once with the domain as it was (restartCount lets a client wait for a reboot).",
    params: DomParams,
    body: v.object({ reason: v.optional(v.picklist(["poweroff", "halt", "reboot", "suspend"]), "poweroff") }),
    response: DomainSummarySchema,
  }, async ({ params, body }) => {
    const before = await manager.get(params.dom);
    await manager.shutdown(params.dom, body.reason);
    return before;
  });

  for (const op of ["pause", "unpause"] as const) {
    api.route({
      method: "post", path: `/:dom/${op}`, tags, summary: op === "pause" ? "Pause a domain (xm pause)" : "Unpause a paused domain (xm unpause)",
      params: DomParams, body: v.optional(v.object({})), response: DomainSummarySchema,
    }, async ({ params }) => {
      const d = await manager.get(params.dom);
      await manager[op](params.dom);
      return manager.get(d.uuid);
    });
  }

  api.route({
    method: "post", path: "/:dom/rename", tags, summary: "Rename a domain (xm rename)",
    params: DomParams, body: v.object({ name: v.string() }), response: DomainSummarySchema,
  }, async ({ params, body }) => {
    const d = await manager.get(params.dom);
    await manager.rename(params.dom, body.name);
    return manager.get(d.uuid);
  });

  api.route({
    method: "post", path: "/:dom/memory", tags, summary: "Set the memory target, MiB (xm mem-set; balloons the guest)",
    params: DomParams, body: v.object({ target: v.pipe(v.number(), v.integer(), v.description("MiB")) }), response: DomainSummarySchema,
  }, async ({ params, body }) => {
    const d = await manager.get(params.dom);
    await manager.setMemoryTarget(params.dom, body.target);
    return manager.get(d.domid === 0 ? 0 : d.uuid);
  });

  const SchedSchema = v.object({
    domid: v.nullable(v.number()), name: v.string(), uuid: v.string(),
    weight: v.pipe(v.number(), v.description("1..65535; share of contended CPUs (default 256)")),
    cap: v.pipe(v.number(), v.description("most CPU the domain may use, percent of one CPU; 0 = no cap")),
  });
  const schedAnswer = async (dom: string) => {
    const d = await manager.get(dom);
    if (!manager.schedCredit) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: "the credit scheduler" });
    const s = await manager.schedCredit(d.domid === 0 ? 0 : d.uuid);
    return { domid: d.domid, name: d.name, uuid: d.uuid, weight: s.weight, cap: s.cap };
  };
  api.route({
    method: "get", path: "/:dom/sched-credit", tags, summary: "A domain's credit scheduler weight and cap (xm sched-credit)",
    params: DomParams, response: SchedSchema,
  }, ({ params }) => schedAnswer(params.dom));
  api.route({
    method: "post", path: "/:dom/sched-credit", tags, summary: "Set a domain's weight and/or cap (xm sched-credit -d Domain -w WEIGHT -c CAP)",
    params: DomParams,
    body: v.object({ weight: v.optional(v.pipe(v.number(), v.integer())), cap: v.optional(v.pipe(v.number(), v.integer())) }),
    response: SchedSchema,
  }, async ({ params, body }) => {
    const d = await manager.get(params.dom);
    if (!manager.setSchedCredit) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: "the credit scheduler" });
    await manager.setSchedCredit(d.domid === 0 ? 0 : d.uuid, { weight: body.weight, cap: body.cap });
    return schedAnswer(d.domid === 0 ? "0" : d.uuid);
  });

  api.route({
    method: "post", path: "/:dom/maxmem", tags, summary: "Set the maximum memory, MiB (xm mem-max)",
    params: DomParams, body: v.object({ maxmem: v.pipe(v.number(), v.integer(), v.description("MiB")) }), response: DomainSummarySchema,
  }, async ({ params, body }) => {
    const d = await manager.get(params.dom);
    await manager.setMaxMemory(params.dom, body.maxmem);
    return manager.get(d.uuid);
  });

  api.route({
    method: "get", path: "/:dom/vcpus", tags, summary: "A domain's vCPUs (xm vcpu-list)",
    params: DomParams,
    response: v.object({ domid: v.nullable(v.number()), name: v.string(), vcpus: v.array(VcpuInfoSchema) }),
  }, async ({ params }) => {
    const d = await manager.get(params.dom);
    return { domid: d.domid, name: d.name, vcpus: d.vcpuInfo };
  });

  api.route({
    method: "post", path: "/:dom/vcpus", tags, summary: "Set the number of online vCPUs, up to maxvcpus (xm vcpu-set)",
    params: DomParams, body: v.object({ count: v.pipe(v.number(), v.integer()) }), response: DomainSummarySchema,
  }, async ({ params, body }) => {
    const d = await manager.get(params.dom);
    await manager.setVcpus(params.dom, body.count);
    return manager.get(d.uuid);
  });

  api.route({
    method: "post", path: "/:dom/vcpus/pin", tags, summary: "Set which physical CPUs a vCPU may use (xm vcpu-pin)",
    params: DomParams,
    body: v.object({
      vcpu: v.union([v.pipe(v.number(), v.integer()), v.literal("all")]),
      cpus: v.pipe(v.string(), v.description("`all` or a CPU list such as `0-3,^1`")),
    }),
    response: DomainSummarySchema,
  }, async ({ params, body }) => {
    let cpus: number[] | "all";
    try {
      cpus = body.cpus.trim() === "all" ? "all" : parseCpuList(body.cpus);
    } catch (error) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `CPU list '${body.cpus}': ${errorMessage(error)}` });
    }
    const d = await manager.get(params.dom);
    await manager.pinVcpu(params.dom, body.vcpu, cpus);
    return manager.get(d.uuid);
  });

  api.route({
    method: "post", path: "/:dom/sysrq", tags, summary: "Send a magic sysrq key (xm sysrq; `c` crashes the guest as a kernel panic would)",
    params: DomParams, body: v.object({ key: v.pipe(v.string(), v.length(1, "a sysrq key is one character")) }), response: OkSchema,
  }, async ({ params, body }) => {
    await manager.sysrq(params.dom, body.key);
    return { ok: true as const };
  });

  api.route({
    method: "post", path: "/:dom/trigger", tags,
    summary: "Send a trigger (xm trigger): nmi (the simulated kernel panics), reset (hard reset), power (power button)",
    params: DomParams,
    body: v.object({ trigger: v.picklist(["nmi", "reset", "init", "power", "sleep"]), vcpu: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 0) }),
    response: OkSchema,
  }, async ({ params, body }) => {
    await manager.trigger(params.dom, body.trigger, body.vcpu);
    return { ok: true as const };
  });

  api.route({
    method: "get", path: "/:dom/network", tags, summary: "A domain's virtual network interfaces (xm network-list)",
    params: DomParams,
    response: v.object({ domid: v.nullable(v.number()), name: v.string(), vifs: v.array(v.record(v.string(), v.string())) }),
  }, async ({ params }) => {
    const d = await manager.get(params.dom);
    return { domid: d.domid, name: d.name, vifs: d.config.vif.map((vif) => ({ ...vif }) as Record<string, string>) };
  });

  api.route({
    method: "get", path: "/:dom/console", tags,
    summary: "A domain's console output (xm console); with follow=1 an NDJSON stream of what comes next",
    params: DomParams,
    query: v.object({ follow: v.optional(v.picklist(["0", "1", "true", "false"])) }),
    response: TextSchema,
  }, async ({ params, query, c }) => {
    if (query.follow !== "1" && query.follow !== "true") return { text: await manager.consoleRead(params.dom) };
    return followConsole(manager, params.dom, pingMs, c.req.raw.signal);
  });

  api.route({
    method: "post", path: "/:dom/console", tags, summary: "Type into a domain's console",
    params: DomParams, body: v.object({ data: v.pipe(v.string(), v.maxLength(65536)) }), response: OkSchema,
  }, async ({ params, body }) => {
    await manager.consoleWrite(params.dom, body.data);
    return { ok: true as const };
  });

  // Host-level, through Domain-0.
  api.route({
    method: "get", path: "/:dom/node", tags: ["host"], summary: "This host as `xm info` shows it (Domain-0 only: /domains/0/node)",
    params: DomParams, response: NodeInfoSchema,
  }, async ({ params }) => {
    await requireDom0(manager, params.dom);
    return manager.nodeInfo();
  });

  api.route({
    method: "get", path: "/:dom/dmesg", tags: ["host"], summary: "The hypervisor's message ring (xm dmesg; Domain-0 only)",
    params: DomParams, response: TextSchema,
  }, async ({ params }) => {
    await requireDom0(manager, params.dom);
    return { text: manager.dmesg(false) };
  });

  api.route({
    method: "post", path: "/:dom/dmesg/clear", tags: ["host"], summary: "Read and clear the hypervisor's message ring (xm dmesg -c)",
    params: DomParams, body: v.optional(v.object({})), response: TextSchema,
  }, async ({ params }) => {
    await requireDom0(manager, params.dom);
    return { text: manager.dmesg(true) };
  });

  api.route({
    method: "get", path: "/:dom/log", tags: ["host"], summary: "xend's log file (xm log; Domain-0 only)",
    params: DomParams, response: TextSchema,
  }, async ({ params }) => {
    await requireDom0(manager, params.dom);
    const path = logFile();
    try {
      return { text: readFileSync(path, "utf8") };
    } catch (error) {
      throw new XvmError("XVM_NOT_FOUND", { detail: `cannot read xend's log ${path}: ${errorMessage(error)}` });
    }
  });

  saveRoutes(api, manager);
  deviceRoutes(api, manager);
  xendActionRoutes(api, manager);
  return api.app;
}

async function followConsole(manager: DomainManager, dom: string, pingMs: number, signal?: AbortSignal): Promise<Response> {
  const watch = await manager.watchConsole(dom);
  const early: string[] = [];
  let emit: ((line: object) => void) | undefined;
  let finish: ((reason: string) => void) | undefined;
  let ended: string | undefined;
  watch.onData((data) => (emit ? emit({ data }) : early.push(data)));
  watch.onEnd((reason) => (finish ? finish(reason) : (ended = reason)));
  let initial = "";
  try {
    initial = await manager.consoleRead(dom);
  } catch (error) {
    watch.close();
    throw error;
  }
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    watch.close();
  };
  signal?.addEventListener("abort", stop, { once: true });
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      emit = (line) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
        } catch {
          open = false;
          stop();
        }
      };
      finish = (reason) => {
        emit?.({ end: reason });
        open = false;
        stop();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      if (initial) emit({ data: initial });
      // Output that came between subscribing and reading the ring is usually in the ring already.
      for (const data of early) if (!initial.endsWith(data)) emit({ data });
      emit({ live: 1 });
      timer = setInterval(() => emit?.({ ping: 1 }), pingMs);
      (timer as { unref?: () => void }).unref?.();
      if (ended !== undefined) finish(ended);
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, { headers: { "content-type": "application/x-ndjson; charset=utf-8", "cache-control": "no-cache" } });
}
