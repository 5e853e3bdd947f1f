/**
 * The administrator's life-cycle requests on a running domain: destroy, pause, unpause, shutdown /
 * reboot / suspend, sysrq and triggers; and the hooks that tell plugins a domain migrated. Each runs in the domain's queue (see `DomainModel.withDomain`).
 */
import { XvmError } from "../errors.ts";
import type { DomainModel } from "./model.ts";
import type { Active } from "./records.ts";
import { destroyRecord, restartRecord } from "./stop-actions.ts";
import { getDomain } from "./summaries.ts";
import type { DomainTrigger } from "./types.ts";

export async function destroy(m: DomainModel, dom: string | number): Promise<void> {
  await m.withDomain(dom, "destroy", (rec) => destroyRecord(m, rec));
}

export async function pause(m: DomainModel, dom: string | number): Promise<void> {
  await m.withDomain(dom, "pause", async (rec) => {
    const info = await m.requireLive(rec, "pause");
    // As xend 3.4 (XendDomain.domain_pause): pausing a paused domain succeeds and changes nothing.
    if (info.paused) {
      m.log.info(`Domain ${rec.config.name} (${rec.domid}) paused (it already was)`);
      return;
    }
    await m.driver.pause(rec.domid);
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) paused`);
  });
}

export async function unpause(m: DomainModel, dom: string | number): Promise<void> {
  await m.withDomain(dom, "unpause", async (rec) => {
    const info = await m.requireLive(rec, "unpause");
    // As xend 3.4: unpausing a running domain succeeds (xc.domain_unpause had nothing to undo).
    if (!info.paused) {
      m.log.info(`Domain ${rec.config.name} (${rec.domid}) unpaused (it was not paused)`);
      return;
    }
    await m.driver.unpause(rec.domid);
    m.log.info(`Domain ${rec.config.name} (${rec.domid}) unpaused`);
  });
}

export async function shutdown(m: DomainModel, dom: string | number, reason: "poweroff" | "halt" | "reboot" | "suspend"): Promise<void> {
  const action = reason === "reboot" ? "reboot" : reason === "suspend" ? "suspend" : "shut down";
  await m.withDomain(dom, action, async (rec) => {
    // A paused guest cannot act on the request; say so rather than wait forever.
    await m.requireLive(rec, action, false);
    await m.driver.requestShutdown(rec.domid, reason);
    m.log.info(`Domain ${rec.config.name} (${rec.domid}): ${reason} requested`);
    if (reason !== "suspend") watchShutdown(m, rec);
  });
}

/**
 * As xend 3.4 (XendDomainInfo.refreshShutdown): a guest that has not acted on a shutdown or
 * reboot request within the shutdown timeout is logged and marked unresponsive; it keeps running
 * (nothing is forced), and `xm shutdown -w` / `xm reboot -w` report it instead of waiting forever.
 */
function watchShutdown(m: DomainModel, rec: Active): void {
  if (rec.shutdownRequest) clearTimeout(rec.shutdownRequest.timer);
  const domid = rec.domid;
  const request: NonNullable<Active["shutdownRequest"]> = {
    at: m.now(),
    timer: setTimeout(() => {
      if (m.closed || rec.shutdownRequest !== request || m.active.get(domid) !== rec || rec.domid !== domid || rec.stopHandled || rec.dying) return;
      void m.driver.info(domid).then((info) => {
        if (info.shutdown || info.crashed || rec.shutdownRequest !== request) return;
        request.unresponsive = true;
        m.log.info(`Domain shutdown timeout expired: name=${rec.config.name} id=${domid}`);
      }, () => {});
    }, m.shutdownTimeout * 1000),
  };
  request.timer.unref();
  rec.shutdownRequest = request;
}

export async function sysrq(m: DomainModel, dom: string | number, key: string): Promise<void> {
  if (typeof key !== "string" || key.length !== 1) throw new XvmError("DOMAIN_CONFIG", { detail: `a sysrq key is one letter (e.g. c to crash, b to reboot), not '${key}'` });
  await m.withDomain(dom, "send a sysrq to", async (rec) => {
    await m.requireLive(rec, "send a sysrq to", false);
    m.dmesgLine(`(XEN) sysrq '${key}' sent to domain ${rec.domid}`);
    // The simulated kernel acts on the keys that change its life; others are only recorded.
    if (key === "c") await m.driver.crash(rec.domid);
    else if (key === "b") await m.driver.requestShutdown(rec.domid, "reboot");
    else if (key === "o") await m.driver.requestShutdown(rec.domid, "poweroff");
    m.log.info(`Domain ${rec.config.name} (${rec.domid}): sysrq ${key}`);
  });
}

export async function trigger(m: DomainModel, dom: string | number, trigger: DomainTrigger, vcpu = 0): Promise<void> {
  if (trigger === "init" || trigger === "sleep") {
    throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `trigger ${trigger} (an HVM trigger) on the ${m.driver.name} hypervisor` });
  }
  await m.withDomain(dom, `send ${trigger} to`, async (rec) => {
    const info = await m.requireLive(rec, `send ${trigger} to`, trigger !== "nmi");
    if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= info.maxVcpus) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `Domain '${rec.config.name}' has no vCPU ${vcpu}` });
    }
    m.dmesgLine(`(XEN) trigger ${trigger} sent to domain ${rec.domid} vCPU ${vcpu}`);
    if (trigger === "nmi") {
      // The simulated kernel treats an NMI as fatal (panic_on_unrecovered_nmi), which is what
      // administrators send one for: a crash dump of a hung guest.
      await m.driver.crash(rec.domid);
    } else if (trigger === "power") {
      await m.driver.requestShutdown(rec.domid, "poweroff");
    } else {
      // reset: a hard reset, whatever on_reboot says and without the restart-loop guard.
      rec.stopHandled = true;
      rec.stopReason = "reset";
      await restartRecord(m, rec, false, false);
    }
  });
}

/** Fires the domainMigratedIn / domainMigratedOut hooks for `dom` (the relocation plugin calls it). */
export async function notifyMigrated(m: DomainModel, dom: string | number, direction: "in" | "out", peer: string): Promise<void> {
  const summary = await getDomain(m, dom);
  if (direction === "in") await m.fireQuietly("domainMigratedIn", summary, peer);
  else await m.fireQuietly("domainMigratedOut", summary, peer);
}
