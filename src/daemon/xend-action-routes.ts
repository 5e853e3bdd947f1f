/**
 * The control API's routes for on_xend_start / on_xend_stop (src/domain/xend-actions.ts), beside
 * the domain routes at `/domains`. They are the start and stop methods of the companion service
 * svc:/system/xvm/domains:default: its restarter calls them, and so can `xvm xend domains`.
 *
 *   POST /domains/on-xend-start                 start (or resume) the on_xend_start = start domains
 *   POST /domains/on-xend-stop  {timeout?}      apply each running domain's on_xend_stop, waiting
 *                                               for shutdowns up to `timeout` seconds (default 60)
 *
 * Both answer when done, with what happened to each domain; a domain that failed is in the answer
 * (with `error`), not an error of the request.
 */
import * as v from "valibot";
import { XvmError } from "../errors.ts";
import type { DomainManager } from "../domain/types.ts";
import type { ApiRouter } from "./api-router.ts";

const tags = ["domains"];
const StartOutcome = v.object({
  name: v.string(), uuid: v.string(), action: v.picklist(["started", "resumed"]),
  domid: v.optional(v.number()), error: v.optional(v.string()),
});
const StopOutcome = v.object({
  name: v.string(), uuid: v.string(), domid: v.number(), action: v.picklist(["shutdown", "suspend", "ignore"]),
  done: v.boolean(), error: v.optional(v.string()),
});

export function xendActionRoutes(api: ApiRouter, manager: DomainManager): void {
  api.route({
    method: "post", path: "/on-xend-start", tags,
    summary: "Start the managed domains marked on_xend_start = start (svc:/system/xvm/domains start method)",
    description: "A suspended one (a checkpoint in var/lib/xend/domains/<uuid>/) is resumed; so is a suspended one with on_xend_stop = suspend.",
    response: v.object({ domains: v.array(StartOutcome) }),
  }, async () => {
    if (!manager.onXendStart) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: "on_xend_start" });
    return { domains: await manager.onXendStart() };
  });

  api.route({
    method: "post", path: "/on-xend-stop", tags,
    summary: "Apply on_xend_stop to the running domains: shutdown, suspend or ignore (svc:/system/xvm/domains stop method)",
    body: v.optional(v.object({
      timeout: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(3600), v.description("seconds to wait for shutdowns")), 60),
    }), { timeout: 60 }),
    response: v.object({ domains: v.array(StopOutcome) }),
  }, async ({ body }) => {
    if (!manager.onXendStop) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: "on_xend_stop" });
    return { domains: await manager.onXendStop(body.timeout * 1000) };
  });
}
