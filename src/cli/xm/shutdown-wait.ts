/**
 * `xm shutdown` and `xm reboot` share this: ask one domain (or all but Domain-0 with -a) to shut
 * down or reboot, and with -w wait as xm did: until each is gone ("Domain X terminated") or, for a
 * reboot, until xend has restarted it ("Domain X rebooted"). Domains are followed by uuid, which a
 * restart keeps; one kept by preserve (shut down or crashed) counts as terminated. One that ignores
 * the request past xend's shutdown timeout is reported (`Error: Domain X did not shut down within
 * 30 seconds: …`, exit 1) and no longer waited for: it still runs, as on xVM nothing forced it.
 */
import { Option } from "clipanion";
import type { DomainSummary } from "../../domain/types.ts";
import { XvmError } from "../../errors.ts";
import { ApiError, XmCommand, XmUsageError, dom } from "./base.ts";

const POLL_MS = 100;

export abstract class ShutdownLikeCommand extends XmCommand {
  all = Option.Boolean("-a,--all", false, { description: "all domains but Domain-0" });
  wait = Option.Boolean("-w,--wait", false, { description: "wait until it is done" });
  domains = Option.Rest({ name: "Domain" });

  protected async shutdownDomains(reason: "poweroff" | "halt" | "reboot"): Promise<number> {
    let targets: string[];
    if (this.all) {
      if (this.domains.length > 0) throw new XmUsageError("-a takes no domain");
      targets = (await this.listDomains()).filter((d) => d.domid !== null && d.domid !== 0 && !d.flags.shutdown && !d.flags.crashed).map((d) => d.uuid);
    } else {
      if (this.domains.length === 0) throw new XmUsageError("No domain parameter given");
      if (this.domains.length > 1) throw new XmUsageError("No multiple domain parameters allowed");
      targets = [this.domains[0]!];
    }
    const before = new Map<string, DomainSummary>();
    for (const t of targets) {
      const d = await this.api<DomainSummary>("POST", `/domains/${dom(t)}/shutdown`, { reason });
      before.set(d.uuid, d);
    }
    if (!this.wait) return 0;
    return reason === "reboot" ? this.waitReboot(before) : this.waitShutdown(before);
  }

  private async current(uuid: string): Promise<DomainSummary | undefined> {
    try {
      return await this.getDomain(uuid);
    } catch (error) {
      if (error instanceof ApiError && error.code === "DOMAIN_NOT_FOUND") return undefined;
      throw error;
    }
  }

  /**
   * A guest that has not acted on the request within xend's shutdown timeout (xend 3.4's
   * SHUTDOWN_TIMEOUT, logged as "Domain shutdown timeout expired") is reported, not waited for.
   */
  private unresponsive(d: DomainSummary, now: DomainSummary | undefined, action: string): boolean {
    if (now?.unresponsive === undefined || now.domid === null || now.domid !== d.domid) return false;
    this.err(new XvmError("DOMAIN_UNRESPONSIVE", { dom: d.name, action, seconds: now.unresponsive }).message);
    return true;
  }

  private async waitShutdown(pending: Map<string, DomainSummary>): Promise<number> {
    let ignored = 0;
    while (pending.size > 0) {
      for (const [uuid, d] of [...pending]) {
        const now = await this.current(uuid);
        if (!now || now.domid === null || now.flags.shutdown || now.flags.crashed) {
          this.out(`Domain ${d.name} terminated\n`);
          pending.delete(uuid);
        } else if (this.unresponsive(d, now, "shut down")) {
          ignored++;
          pending.delete(uuid);
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (ignored > 0) return 1;
    this.out("All domains terminated\n");
    return 0;
  }

  private async waitReboot(pending: Map<string, DomainSummary>): Promise<number> {
    let ignored = 0;
    while (pending.size > 0) {
      for (const [uuid, d] of [...pending]) {
        const now = await this.current(uuid);
        if (!now || now.domid === null) {
          this.out(`Domain ${d.name} destroyed for failed in rebooting\n`);
          pending.delete(uuid);
        } else if ((now.restartCount ?? 0) !== (d.restartCount ?? 0)) {
          this.out(`Domain ${d.name} rebooted\n`);
          pending.delete(uuid);
        } else if (this.unresponsive(d, now, "reboot")) {
          ignored++;
          pending.delete(uuid);
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (ignored > 0) return 1;
    this.out("All domains rebooted\n");
    return 0;
  }
}
