/**
 * Reading Prometheus text with a real parser (parse-prometheus-text-format, a port of the Python
 * client's parser with prom2json's output), plus the rules it is lenient about: every sample
 * belongs to the family whose HELP and TYPE come right before it, no family twice, a final newline.
 */
import { createRequire } from "node:module";
import { expect } from "vitest";

export interface Family {
  name: string;
  help: string;
  type: "GAUGE" | "COUNTER" | "UNTYPED" | "HISTOGRAM" | "SUMMARY";
  metrics: Array<{ labels?: Record<string, string>; value: string }>;
}

const parse = createRequire(import.meta.url)("parse-prometheus-text-format") as (text: string) => Family[];

export function parseMetrics(text: string): Map<string, Family> {
  expect(text.endsWith("\n")).toBe(true);
  let current: string | undefined;
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) /.exec(line);
    if (meta) {
      if (meta[1] === "HELP") {
        expect(seen.has(meta[2]!), `family ${meta[2]} twice`).toBe(false);
        seen.add(meta[2]!);
      }
      current = meta[2];
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    expect(sample, `not a sample line: ${line}`).not.toBeNull();
    expect(sample![1], `sample outside its family: ${line}`).toBe(current);
  }
  const families = parse(text);
  return new Map(families.map((f) => [f.name, f]));
}

/** The value of the sample of `family` whose labels include `labels` (a number). */
export function sample(families: Map<string, Family>, family: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(family);
  const m = f?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value) : undefined;
}
