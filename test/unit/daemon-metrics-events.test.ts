/**
 * GET /metrics's text (src/daemon/metrics.ts) read back by a real Prometheus parser, label values
 * escaped; the event bus (src/daemon/events.ts): domain hooks become events and counts, health
 * changes become plugin and service events, and the NDJSON stream carries them.
 */
import { describe, expect, it } from "vitest";
import { EventBus, eventStream, type XendEvent } from "../../src/daemon/events.ts";
import { renderMetrics, type MetricsInput } from "../../src/daemon/metrics.ts";
import type { DomainSummary } from "../../src/domain/types.ts";
import { parseMetrics, sample } from "../helpers/prometheus.ts";

const T0 = Date.parse("2026-12-07T06:00:00Z");

function domain(domid: number | null, name: string, more: Partial<DomainSummary> = {}): DomainSummary {
  return {
    domid, name, uuid: `00000000-0000-0000-0000-00000000000${domid ?? 9}`, memory: 64, maxmem: 128, vcpus: 2, maxvcpus: 2, state: "-b----",
    flags: { running: false, blocked: true, paused: false, shutdown: false, crashed: false, dying: false },
    cpuTime: 1.5, startTime: T0 / 1000, managed: false, config: {} as DomainSummary["config"], vcpuInfo: [], ...more,
  };
}

function input(more: Partial<MetricsInput> = {}): MetricsInput {
  const bus = new EventBus();
  return {
    status: { pid: 1, root: "/", state: "degraded", reasons: ["x"], startedAt: new Date(T0).toISOString(), version: "0.1.0", runtime: "node 20" },
    nowMs: T0 + 90_500,
    plugins: [
      { name: "xend", version: "", source: "builtin", state: "running", properties: [] },
      { name: "broken", version: "", source: "/p/broken.js", state: "failed", error: "boom", properties: [] },
    ],
    domains: [domain(0, "Domain-0"), domain(3, 'we"b\\1\nx'), domain(null, "inactive")],
    counts: bus.counts,
    subscribers: 2,
    ...more,
  };
}

describe("metrics text", () => {
  it("parses with a real Prometheus parser: families, types, help, values", () => {
    const fams = parseMetrics(renderMetrics(input()));
    expect(fams.get("xend_uptime_seconds")).toMatchObject({ type: "GAUGE", help: "Seconds since xend started." });
    expect(sample(fams, "xend_uptime_seconds")).toBe(90.5);
    expect(sample(fams, "xend_start_time_seconds")).toBe(T0 / 1000);
    expect(sample(fams, "xend_degraded")).toBe(1);
    expect(sample(fams, "xend_info", { version: "0.1.0", runtime: "node 20" })).toBe(1);
    expect(sample(fams, "xend_plugin_state", { plugin: "broken", state: "failed" })).toBe(1);
    expect(sample(fams, "xend_plugin_state", { plugin: "broken", state: "running" })).toBe(0);
    expect(fams.get("xend_domain_cpu_seconds_total")?.type).toBe("COUNTER");
    expect(sample(fams, "xend_domain_cpu_seconds_total", { domain: "Domain-0", domid: "0" })).toBe(1.5);
    expect(sample(fams, "xend_domain_memory_bytes", { domid: "3" })).toBe(64 * 2 ** 20);
    expect(sample(fams, "xend_domain_max_memory_bytes", { domid: "3" })).toBe(128 * 2 ** 20);
    expect(sample(fams, "xend_domain_vcpus", { domid: "3" })).toBe(2);
    expect(sample(fams, "xend_domain_state", { domid: "3", state: "blocked" })).toBe(1);
    expect(sample(fams, "xend_domain_state", { domid: "3", state: "running" })).toBe(0);
    expect(sample(fams, "xend_domains", { kind: "inactive" })).toBe(1);
    expect(sample(fams, "xend_event_subscribers")).toBe(2);
    // An inactive managed domain has no id, so no per-domain series.
    expect(fams.get("xend_domain_vcpus")?.metrics.map((m) => m.labels?.domain)).toEqual(["Domain-0", 'we"b\\1\nx']);
  });

  it("escapes label values (quote, backslash, newline) as the format wants", () => {
    const text = renderMetrics(input());
    expect(text).toContain('xend_domain_vcpus{domain="we\\"b\\\\1\\nx",domid="3",uuid="00000000-0000-0000-0000-000000000003"} 2\n');
  });
});

describe("event bus", () => {
  it("turns domain hooks into events and counts, and ignores the refusing hooks", () => {
    const bus = new EventBus(() => new Date(T0));
    const got: XendEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const d = domain(3, "web1");
    bus.fromHook("domainPreCreate", [{}]);
    bus.fromHook("domainCreated", [d]);
    bus.fromHook("domainCrashed", [d, { wantDump: true }]);
    bus.fromHook("domainMigratedOut", [d, "hostb"]);
    bus.fromHook("domainDestroyed", [d]);
    const time = new Date(T0).toISOString();
    expect(got).toEqual([
      { type: "domain", event: "created", domid: 3, name: "web1", uuid: d.uuid, time },
      { type: "domain", event: "crashed", domid: 3, name: "web1", uuid: d.uuid, dump: true, time },
      { type: "domain", event: "migrated-out", domid: 3, name: "web1", uuid: d.uuid, to: "hostb", time },
      { type: "domain", event: "destroyed", domid: 3, name: "web1", uuid: d.uuid, time },
    ]);
    expect(bus.counts).toMatchObject({ created: 1, crashed: 1, "migrated-out": 1, destroyed: 1, "migrated-in": 0 });
    const fams = parseMetrics(renderMetrics(input({ counts: bus.counts })));
    expect(sample(fams, "xend_migrations_total", { direction: "out" })).toBe(1);
    expect(sample(fams, "xend_domain_events_total", { event: "crashed" })).toBe(1);
  });

  it("turns health changes into plugin events and service state changes", () => {
    const bus = new EventBus(() => new Date(T0));
    const got: XendEvent[] = [];
    bus.subscribe((e) => got.push(e));
    const time = new Date(T0).toISOString();
    bus.fromHealth("hook:relocation:domainCreated", "boom", "degraded", ["boom"], true);
    bus.fromHealth("config:dom0-cpus", "bad", "degraded", ["boom", "bad"], false);
    bus.fromHealth("hook:relocation:domainCreated", undefined, "degraded", ["bad"], false);
    expect(got).toEqual([
      { type: "plugin", plugin: "relocation", state: "degraded", reason: "boom", time },
      { type: "service", state: "degraded", reasons: ["boom"], time },
      { type: "plugin", plugin: "relocation", state: "recovered", time },
    ]);
  });

  it("streams events as NDJSON with keep-alive pings until the client goes away", async () => {
    const bus = new EventBus(() => new Date(T0));
    const abort = new AbortController();
    const res = eventStream(bus, 20, abort.signal);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(bus.subscribers).toBe(1);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    const next = async (): Promise<unknown> => {
      while (!buffered.includes("\n")) buffered += decoder.decode((await reader.read()).value);
      const nl = buffered.indexOf("\n");
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      return JSON.parse(line);
    };
    bus.fromHook("domainCreated", [domain(1, "a")]);
    expect(await next()).toMatchObject({ type: "domain", event: "created", name: "a" });
    expect(await next()).toEqual({ ping: 1 });
    abort.abort();
    expect(bus.subscribers).toBe(0);
  });
});
