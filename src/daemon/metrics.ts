/**
 * `GET /metrics`: the daemon, its plugins and its domains in the Prometheus text exposition format
 * (version 0.0.4), on the control socket and, when `config/metrics-address` is set, on TCP.
 *
 * Families (each with HELP and TYPE):
 *   xend_info{version,runtime} 1, xend_start_time_seconds, xend_uptime_seconds, xend_degraded,
 *   xend_plugin_state{plugin,state} (1 for the plugin's state, 0 for the others),
 *   xend_domain_cpu_seconds_total, xend_domain_memory_bytes, xend_domain_max_memory_bytes,
 *   xend_domain_vcpus, xend_domain_state{state} (one per xm state flag: running, blocked, paused,
 *   shutdown, crashed, dying), each labelled {domain,domid,uuid},
 *   xend_domain_events_total{event} (created, destroyed, crashed, …, since xend started),
 *   xend_migrations_total{direction}, xend_dump_files and xend_dump_bytes (the dump directory),
 *   xend_event_subscribers.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { DomainSummary } from "../domain/types.ts";
import type { PluginState, PluginStatus } from "../plugin/host.ts";
import type { DaemonStatus } from "./control-api.ts";
import type { EventCounts } from "./events.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsInput {
  status: DaemonStatus;
  nowMs: number;
  plugins: PluginStatus[];
  domains: DomainSummary[];
  counts: EventCounts;
  subscribers: number;
  /** The dump directory (absolute), if the enable-dump plugin's is known. */
  dumpDir?: string;
}

const PLUGIN_STATES: PluginState[] = ["running", "failed", "stopped"];
const STATE_FLAGS = ["running", "blocked", "paused", "shutdown", "crashed", "dying"] as const;

/** A label value as the format wants it: backslash, double quote and newline escaped. */
export function labelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function labels(l: Record<string, string | number>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${labelValue(String(v))}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function num(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

class Writer {
  private readonly lines: string[] = [];

  family(name: string, type: "gauge" | "counter", help: string, samples: Array<[Record<string, string | number>, number]>): void {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) this.lines.push(`${name}${labels(l)} ${num(v)}`);
  }

  text(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

function dumpUsage(dir: string | undefined): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  if (!dir) return { files, bytes };
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { files, bytes };
  }
  for (const name of names) {
    try {
      const st = statSync(join(dir, name));
      if (!st.isFile()) continue;
      files++;
      bytes += st.size;
    } catch {
      // removed meanwhile (dump-limit)
    }
  }
  return { files, bytes };
}

export function renderMetrics(m: MetricsInput): string {
  const w = new Writer();
  const started = Date.parse(m.status.startedAt);
  w.family("xend_info", "gauge", "xend's version and JavaScript runtime.", [[{ version: m.status.version, runtime: m.status.runtime }, 1]]);
  w.family("xend_start_time_seconds", "gauge", "When xend started, seconds since the epoch.", [[{}, started / 1000]]);
  w.family("xend_uptime_seconds", "gauge", "Seconds since xend started.", [[{}, Math.max(0, (m.nowMs - started) / 1000)]]);
  w.family("xend_degraded", "gauge", "1 when xend is degraded (svcs -x xend says why), else 0.", [[{}, m.status.state === "degraded" ? 1 : 0]]);
  w.family("xend_plugin_state", "gauge", "Each plugin's state: 1 for the state it is in.",
    m.plugins.flatMap((p) => PLUGIN_STATES.map((s): [Record<string, string>, number] => [{ plugin: p.name, state: s }, p.state === s ? 1 : 0])));

  const running = m.domains.filter((d) => d.domid !== null);
  const id = (d: DomainSummary) => ({ domain: d.name, domid: d.domid ?? "", uuid: d.uuid });
  w.family("xend_domain_cpu_seconds_total", "counter", "CPU time the domain's vCPUs have used, seconds.", running.map((d) => [id(d), d.cpuTime]));
  w.family("xend_domain_memory_bytes", "gauge", "The domain's current memory.", running.map((d) => [id(d), d.memory * 2 ** 20]));
  w.family("xend_domain_max_memory_bytes", "gauge", "The domain's maximum memory.", running.map((d) => [id(d), d.maxmem * 2 ** 20]));
  w.family("xend_domain_vcpus", "gauge", "The domain's online vCPUs.", running.map((d) => [id(d), d.vcpus]));
  w.family("xend_domain_state", "gauge", "The domain's xm state flags (r b p s c d): 1 when set.",
    running.flatMap((d) => STATE_FLAGS.map((s): [Record<string, string | number>, number] => [{ ...id(d), state: s }, d.flags[s] ? 1 : 0])));
  w.family("xend_domains", "gauge", "Domains known to xend, running (with an id) or inactive managed ones.", [
    [{ kind: "running" }, running.length],
    [{ kind: "inactive" }, m.domains.length - running.length],
  ]);

  w.family("xend_domain_events_total", "counter", "Domain events since xend started (as GET /events reports them).",
    Object.entries(m.counts).map(([event, n]) => [{ event }, n]));
  w.family("xend_migrations_total", "counter", "Live migrations since xend started, by direction.", [
    [{ direction: "in" }, m.counts["migrated-in"]],
    [{ direction: "out" }, m.counts["migrated-out"]],
  ]);
  const dumps = dumpUsage(m.dumpDir);
  w.family("xend_dump_files", "gauge", "Core dumps in the dump directory (config/dump-directory).", [[{}, dumps.files]]);
  w.family("xend_dump_bytes", "gauge", "Bytes the dump directory holds.", [[{}, dumps.bytes]]);
  w.family("xend_event_subscribers", "gauge", "Clients following GET /events.", [[{}, m.subscribers]]);
  return w.text();
}
