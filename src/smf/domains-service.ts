/**
 * The manifest of svc:/system/xvm/domains, xVM's companion of xend: a transient service (no
 * process of its own; startd/duration = transient) whose start method starts the managed domains
 * marked on_xend_start = start and whose stop method applies on_xend_stop (shutdown, suspend,
 * ignore). It depends on xend (require_all, restart_on restart): it comes online after xend does
 * and is stopped before xend stops, so its stop method still reaches xend.
 *
 * The methods run inside the restarter, through xend's control API (src/smf/restarter/
 * transient.ts); their exec strings name the client command that does the same by hand
 * (`xvm xend domains start|stop`).
 *
 * The instance is enabled from the start, so `svcadm enable xend` alone brings the on_xend_start
 * domains up, as it did when xend started them itself; `svcadm disable domains` turns that off.
 */
import { timeValue } from "./manifest.ts";
import { DOMAINS_INSTANCE, DOMAINS_SERVICE, RESTARTER_SERVICE, XEND_FMRI, setProp, takeSnapshot, type PgMap, type RepoData } from "./model.ts";

export const DOMAINS_START_EXEC = "xvm xend domains start";
export const DOMAINS_STOP_EXEC = "xvm xend domains stop";
/** Where the restarter notes that this manifest was imported (SMF keeps manifest hashes similarly). */
const MANIFEST_MARK = "manifestfiles";
const MANIFEST_PROP = "system_xvm_domains";

export function addDomainsService(data: RepoData, now: number): void {
  const svcPgs: PgMap = {};
  setProp(svcPgs, "start", "exec", "astring", [DOMAINS_START_EXEC], "method");
  setProp(svcPgs, "start", "timeout_seconds", "count", ["300"], "method");
  setProp(svcPgs, "stop", "exec", "astring", [DOMAINS_STOP_EXEC], "method");
  setProp(svcPgs, "stop", "timeout_seconds", "count", ["300"], "method");
  // In the order `svccfg import` of the exported manifest creates them, so that the round trip
  // gives the same listprop.
  setProp(svcPgs, "tm_common_name", "C", "ustring", ["xVM domains: on_xend_start and on_xend_stop"], "template");
  setProp(svcPgs, "tm_man_xend", "title", "astring", ["xend"], "template");
  setProp(svcPgs, "tm_man_xend", "section", "astring", ["1M"], "template");
  setProp(svcPgs, "xend", "grouping", "astring", ["require_all"], "dependency");
  setProp(svcPgs, "xend", "restart_on", "astring", ["restart"], "dependency");
  setProp(svcPgs, "xend", "type", "astring", ["service"], "dependency");
  setProp(svcPgs, "xend", "entities", "fmri", [XEND_FMRI], "dependency");
  setProp(svcPgs, "startd", "duration", "astring", ["transient"], "framework");
  const instPgs: PgMap = {};
  setProp(instPgs, "general", "enabled", "boolean", ["true"], "framework");
  setProp(instPgs, "general", "entity_stability", "astring", ["Volatile"], "framework");
  setProp(instPgs, "restarter", "state", "astring", ["offline"], "framework", 1);
  setProp(instPgs, "restarter", "next_state", "astring", ["none"], "framework", 1);
  setProp(instPgs, "restarter", "state_timestamp", "time", [timeValue(now)], "framework", 1);
  setProp(instPgs, "restarter", "auxiliary_state", "astring", ["none"], "framework", 1);
  data.services[DOMAINS_SERVICE] = { pgs: svcPgs, instances: { [DOMAINS_INSTANCE]: { pgs: instPgs, snapshots: {} } } };
  takeSnapshot(data, DOMAINS_SERVICE, DOMAINS_INSTANCE, "initial");
  takeSnapshot(data, DOMAINS_SERVICE, DOMAINS_INSTANCE, "running");
  markImported(data);
}

function markImported(data: RepoData): void {
  const r = data.services[RESTARTER_SERVICE];
  if (r) setProp(r.pgs, MANIFEST_MARK, MANIFEST_PROP, "astring", ["1"], "framework");
}

/**
 * A repository made before this service existed gains it (as manifest-import adds a new
 * manifest at boot); one whose administrator deleted it (`svccfg delete`) does not get it back.
 * Returns true if the service was added.
 */
export function upgradeDomainsService(data: RepoData, now: number): boolean {
  if (data.services[DOMAINS_SERVICE]) return false;
  if (data.services[RESTARTER_SERVICE]?.pgs[MANIFEST_MARK]?.props[MANIFEST_PROP]) return false;
  addDomainsService(data, now);
  return true;
}
