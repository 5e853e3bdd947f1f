/** `xm uptime [-s] [Domain…]`: how long domains have run (Domain-0: since the host booted). */
import { Command, Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XmCommand } from "./base.ts";
import { UPTIME_HEADER, uptimeRow, uptimeShort } from "./format.ts";

export class UptimeCommand extends XmCommand {
  static override paths = [["xm", "uptime"]];
  static override usage = Command.Usage({
    description: "print uptime for a domain",
    details: "Days, hours, minutes and seconds since each domain started; an inactive managed domain shows 0:00:00.",
    examples: [["Every domain", "$0 xm uptime"], ["web1, in the short form", "$0 xm uptime -s web1"], ["As JSON", "$0 xm uptime --json"]],
  });
  short = Option.Boolean("-s,--short", false, { description: "one line per domain in the style of uptime(1)" });
  json = Option.Boolean("--json", false, { description: "print each domain's start time and uptime in seconds as JSON (docs/xm-json.md)" });
  domains = Option.Rest({ name: "Domain" });

  async execute(): Promise<number> {
    const list: DomainSummary[] = this.domains.length ? await Promise.all(this.domains.map((d) => this.getDomain(d))) : await this.listDomains();
    const now = new Date();
    const nowSeconds = now.getTime() / 1000;
    if (this.json) {
      this.outJson({
        domains: list.map((d) => ({
          domid: d.domid, name: d.name, uuid: d.uuid,
          startTime: d.domid === null ? null : d.startTime,
          uptime: d.domid === null ? 0 : Math.max(0, Math.round(nowSeconds - d.startTime)),
        })),
      });
      return 0;
    }
    const lines = this.short ? list.map((d) => uptimeShort(d, now, nowSeconds)) : [UPTIME_HEADER, ...list.map((d) => uptimeRow(d, nowSeconds))];
    this.out(lines.map((l) => `${l}\n`).join(""));
    return 0;
  }
}
