/**
 * `xm sched-credit [-d <Domain> [-w WEIGHT] [-c CAP]]`: the credit scheduler's weight and cap of
 * every domain, or of one, or sets them, as Xen 3.4's xm did (same header, columns and errors).
 */
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XmCommand, XmUsageError, dom } from "./base.ts";

interface SchedRow {
  domid: number | null;
  name: string;
  uuid: string;
  weight: number;
  cap: number;
}

/** 3.4's header ('%-33s %4s %6s %4s') and rows ('%-32s %5s %6d %4d'), widths as they were. */
export const SCHED_HEADER = `${"Name".padEnd(33)} ${"ID".padStart(4)} ${"Weight".padStart(6)} ${"Cap".padStart(4)}`;

export function schedRow(r: SchedRow): string {
  return `${r.name.padEnd(32)} ${String(r.domid ?? "").padStart(5)} ${String(r.weight).padStart(6)} ${String(r.cap).padStart(4)}`;
}

function int(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\s*-?\d+\s*$/.test(text)) throw new XmUsageError(`Invalid ${what} '${text}': expected a whole number`);
  return Number(text);
}

export class SchedCreditCommand extends XmCommand {
  static override paths = [["xm", "sched-credit"]];
  static override usage = Command.Usage({
    description: "get/set credit scheduler parameters",
    details: `
      Without -w or -c: each domain's weight and cap (or one domain's, with -d). With -w and/or -c:
      sets them for the domain named by -d; a running domain's vCPUs follow at once, and the values
      stay in its config (cpu_weight, cpu_cap; a managed domain keeps them).

      The weight (1..65535, default 256) is a domain's share when domains compete for the same
      CPUs: 512 gets twice the CPU time of 256. The cap is the most CPU the domain may use, in
      percent of one physical CPU, even when CPUs are idle: 50 is half a CPU, 200 two CPUs; 0 means
      no cap; at most 100 per vCPU.
    `,
    examples: [
      ["Every domain's weight and cap", "$0 xm sched-credit"],
      ["Twice the default share for web1", "$0 xm sched-credit -d web1 -w 512"],
      ["At most half a CPU for batch1", "$0 xm sched-credit -d batch1 -c 50"],
      ["As JSON", "$0 xm sched-credit --json"],
    ],
  });
  domain = Option.String("-d,--domain", { description: "the domain to show or modify" });
  weight = Option.String("-w,--weight", { description: "new weight, 1..65535 (default 256)" });
  cap = Option.String("-c,--cap", { description: "new cap, percent of one CPU (0 = no cap)" });
  json = Option.Boolean("--json", false, { description: "print {domains: [{domid, name, uuid, weight, cap}]} (docs/xm-json.md)" });
  rest = Option.Rest({ name: "" });

  private row(ref: string | number): Promise<SchedRow> {
    return this.api<SchedRow>("GET", `/domains/${dom(ref)}/sched-credit`);
  }

  async execute(): Promise<number> {
    if (this.rest.length > 0) throw new XmUsageError(`Unexpected argument '${this.rest[0]}': name the domain with -d`);
    const weight = int(this.weight, "weight");
    const cap = int(this.cap, "cap");
    if (weight === undefined && cap === undefined) {
      let rows: SchedRow[];
      if (this.domain !== undefined) rows = [await this.row(this.domain)];
      else {
        const domains = (await this.api<{ domains: DomainSummary[] }>("GET", "/domains")).domains;
        rows = await Promise.all(domains.map((d) => this.row(d.domid ?? d.uuid)));
      }
      if (this.json) this.outJson({ domains: rows });
      else this.out([SCHED_HEADER, ...rows.map(schedRow)].map((l) => `${l}\n`).join(""));
      return 0;
    }
    if (this.domain === undefined) throw new XmUsageError("No domain given.");
    const body: { weight?: number; cap?: number } = {};
    if (weight !== undefined) body.weight = weight;
    if (cap !== undefined) body.cap = cap;
    const row = await this.api<SchedRow>("POST", `/domains/${dom(this.domain)}/sched-credit`, body);
    if (this.json) this.outJson({ domains: [row] });
    return 0;
  }
}
