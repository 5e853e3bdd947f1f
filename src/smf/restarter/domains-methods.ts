/**
 * The start and stop methods of svc:/system/xvm/domains: calls to xend's control API (routes in
 * src/daemon/xend-action-routes.ts), and the lines they print — into the service log when the
 * restarter runs them, on stdout for `xvm xend domains start|stop`.
 */
import type { Paths } from "../../paths.ts";
import { unixJson } from "../../runtime/http-client.ts";
import type { XendStartOutcome, XendStopOutcome } from "../../domain/types.ts";
import type { TransientMethod } from "./transient.ts";

/** How long a stop waits for xend to answer at all before it gives up on it. */
const PROBE_MS = 5_000;

/** Longest wait asked of xend for guests it shut down, seconds (the route's bound). */
const MAX_WAIT_S = 3600;

function unreachable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ECONNREFUSED";
}

export function startLines(domains: XendStartOutcome[]): string[] {
  return domains.map((d) => {
    const verb = d.action === "resumed" ? "resume" : "start";
    return d.error !== undefined
      ? `Domain ${d.name}: could not ${verb}: ${d.error}`
      : `Domain ${d.name} (${d.domid ?? "?"}) ${d.action}`;
  });
}

export function stopLines(domains: XendStopOutcome[]): string[] {
  return domains.map((d) => {
    const who = `Domain ${d.name} (${d.domid})`;
    if (d.error !== undefined) return `${who}: could not ${d.action === "suspend" ? "suspend" : "shut down"}: ${d.error}`;
    switch (d.action) {
      case "ignore": return `${who} continues to run (on_xend_stop = ignore)`;
      case "suspend": return `${who} suspended (on_xend_stop = suspend)`;
      case "shutdown": return d.done ? `${who} shut down (on_xend_stop = shutdown)` : `${who} still runs after its shutdown request (on_xend_stop = shutdown)`;
    }
  });
}

/**
 * `xendUp`: whether the xend the service started with is still there, running or being stopped
 * in order. When it is not (it died, and its restarter may be starting another), the stop leaves
 * the domains alone: a crash is not a stop of xend, and xend 3.4 applied on_xend_stop only when
 * it was stopped.
 */
export function domainsMethods(paths: Paths, xendUp: () => boolean = () => true): { start: TransientMethod; stop: TransientMethod } {
  return {
    start: async (timeoutMs) => {
      let r: { domains: XendStartOutcome[] };
      try {
        r = await unixJson(paths.controlSocket, "POST", "/domains/on-xend-start", {}, timeoutMs || undefined);
      } catch (error) {
        if (unreachable(error)) throw new Error(`xend does not answer on ${paths.controlSocket}`);
        throw error;
      }
      return startLines(r.domains);
    },
    stop: async (timeoutMs) => {
      if (!xendUp()) return ["xend exited: its domains are left as they are."];
      // A wedged xend (stopped, hung) would hold its own stop for the whole method timeout: ask
      // it first, briefly, whether it answers at all.
      try {
        await unixJson(paths.controlSocket, "GET", "/status", undefined, PROBE_MS);
      } catch (error) {
        if (unreachable(error)) return ["xend is not running: its domains are left as they are."];
        return [`xend does not answer (${(error as Error).message}): its domains are left as they are.`];
      }
      // Leave the restarter a little of its own timeout to hear the answer.
      const wait = timeoutMs > 0 ? Math.max(1, Math.floor(timeoutMs / 1000) - 2) : MAX_WAIT_S;
      let r: { domains: XendStopOutcome[] };
      try {
        r = await unixJson(paths.controlSocket, "POST", "/domains/on-xend-stop", { timeout: Math.min(wait, MAX_WAIT_S) }, timeoutMs || undefined);
      } catch (error) {
        // Nothing to stop them with: guests outlive xend, and the next start finds them running.
        if (unreachable(error)) return ["xend is not running: its domains are left as they are."];
        throw error;
      }
      return stopLines(r.domains);
    },
  };
}
