/**
 * A vif's `bridge=` must name a link of this host (`xvm dladm show-link`), checked when a domain
 * starts and when a vif is attached (issue 15.2).
 */
import { XvmError } from "../errors.ts";
import { readHostLinks } from "../host/host-links.ts";
import { shown } from "./config-spec.ts";
import type { VifConfig } from "./types.ts";

/**
 * Throws DOMAIN_CONFIG naming the first vif whose `bridge=` is not a link of this host, as a vif
 * whose hotplug script found no bridge failed on xVM ("Device 0 (vif) could not be connected").
 */
export function checkVifBridges(name: string, vifs: readonly VifConfig[], attaching = false): void {
  let links: string[] | undefined;
  vifs.forEach((vif, i) => {
    if (vif.bridge === undefined) return;
    links ??= readHostLinks().map((l) => l.name);
    if (!links.includes(vif.bridge)) {
      const which = attaching ? "" : `Domain '${name}': vif[${i}]: `;
      throw new XvmError("DOMAIN_CONFIG", { detail: `${which}bridge=${shown(vif.bridge)}: no such link on this host (xvm dladm show-link lists ${links.join(", ") || "none"})` });
    }
  });
}
