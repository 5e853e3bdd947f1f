/**
 * The control API's device routes (issue 15.2), beside the domain routes at `/domains`:
 *
 *   GET    /domains/{dom}/block                       xm block-list [-l]
 *   POST   /domains/{dom}/block  {backdev, frontdev, mode}   xm block-attach
 *   DELETE /domains/{dom}/block/{dev}                 xm block-detach (device number or name)
 *   POST   /domains/{dom}/network {options: ["mac=…", "bridge=…"]}   xm network-attach
 *   DELETE /domains/{dom}/network/{dev}               xm network-detach (vif index)
 *
 * (`GET /domains/{dom}/network`, xm network-list, is in domain-routes.ts.)
 */
import * as v from "valibot";
import { XvmError } from "../errors.ts";
import { OkSchema } from "../domain/api-schemas.ts";
import { parseDiskSpec } from "../domain/disks.ts";
import type { DomainManager, VbdInfo } from "../domain/types.ts";
import type { ApiRouter } from "./api-router.ts";

const tags = ["domains"];
const DomParams = v.object({ dom: v.pipe(v.string(), v.description("Domain name, id or uuid")) });
const DevParams = v.object({ dom: v.string(), dev: v.pipe(v.string(), v.description("device number or name (block), vif index (network)")) });
const Word = v.pipe(v.string(), v.minLength(1), v.maxLength(1024));
const VbdSchema = v.object({ devid: v.number(), vdev: v.string(), type: v.string(), path: v.string(), mode: v.string() });

function need<K extends "blockAttach" | "blockDetach" | "networkAttach" | "networkDetach">(manager: DomainManager, key: K): NonNullable<DomainManager[K]> {
  const fn = manager[key];
  if (!fn) throw new XvmError("XVM_NOT_IMPLEMENTED", { what: key });
  return fn.bind(manager) as NonNullable<DomainManager[K]>;
}

export function deviceRoutes(api: ApiRouter, manager: DomainManager): void {
  api.route({
    method: "get", path: "/:dom/block", tags, summary: "A domain's virtual block devices (xm block-list)",
    params: DomParams,
    response: v.object({ domid: v.nullable(v.number()), name: v.string(), vbds: v.array(VbdSchema) }),
  }, async ({ params }) => {
    const d = await manager.get(params.dom);
    const vbds: VbdInfo[] = d.config.disk.map((spec) => {
      const p = parseDiskSpec(spec);
      return { devid: p.devid, vdev: p.vdev, type: p.type, path: p.path, mode: p.mode };
    });
    return { domid: d.domid, name: d.name, vbds };
  });

  api.route({
    method: "post", path: "/:dom/block", tags, summary: "Attach a virtual block device (xm block-attach); its backing file or device must exist",
    params: DomParams, body: v.object({ backdev: Word, frontdev: Word, mode: Word }), response: OkSchema,
  }, async ({ params, body }) => {
    await need(manager, "blockAttach")(params.dom, body.backdev, body.frontdev, body.mode);
    return { ok: true as const };
  });

  api.route({
    method: "delete", path: "/:dom/block/:dev", tags, summary: "Detach a virtual block device (xm block-detach)",
    params: DevParams, response: OkSchema,
  }, async ({ params }) => {
    await need(manager, "blockDetach")(params.dom, params.dev);
    return { ok: true as const };
  });

  api.route({
    method: "post", path: "/:dom/network", tags, summary: "Attach a virtual network interface (xm network-attach); bridge= must name a link of this host",
    params: DomParams, body: v.object({ options: v.pipe(v.array(Word), v.maxLength(16)) }),
    response: v.record(v.string(), v.string()),
  }, async ({ params, body }) => ({ ...(await need(manager, "networkAttach")(params.dom, body.options)) }) as Record<string, string>);

  api.route({
    method: "delete", path: "/:dom/network/:dev", tags, summary: "Detach a virtual network interface (xm network-detach)",
    params: DevParams, response: OkSchema,
  }, async ({ params }) => {
    await need(manager, "networkDetach")(params.dom, params.dev);
    return { ok: true as const };
  });
}
