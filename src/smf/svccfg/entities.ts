/**
 * What svccfg selects and edits: the current selection (scope, service, instance, snapshot) and
 * the property groups each level shows. xvm deviation (docs/smf.md): at an instance, listprop and
 * listpg show the COMPOSED view — the instance's groups over the service's, property by property —
 * because xend reads composed values and the manual's Example 2 configures the service level.
 */
import { findMatches, instanceFmri, matchFmri, serviceFmri } from "../fmri.ts";
import { composePgs, type InstanceData, type PgMap, type RepoData, type ServiceData } from "../model.ts";
import { entitiesOf } from "../repository.ts";
import { SvccfgError, msg } from "./errors.ts";

export interface Selection {
  service?: string;
  instance?: string;
  /** Name of the selected snapshot of the selected instance. */
  snapshot?: string;
}

/** SMF entity names (uu_check_name, UU_NAME_DOMAIN): a letter, then letters, digits, `-_.`, one optional `,`. */
export const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]*(,[A-Za-z][A-Za-z0-9_.-]*)?$/;

export function selectionString(sel: Selection): string {
  if (!sel.service) return "svc:";
  const fmri = sel.instance ? instanceFmri(sel.service, sel.instance) : serviceFmri(sel.service);
  return sel.snapshot ? `[${sel.snapshot}]${fmri}` : fmri;
}

export interface Resolved {
  svc: ServiceData;
  inst?: InstanceData;
}

/** The selected entity's data; throws if nothing is selected or it vanished meanwhile. */
export function resolve(data: RepoData, sel: Selection): Resolved {
  if (!sel.service) throw new SvccfgError(msg.entityNotSelected);
  const svc = data.services[sel.service];
  if (!svc) throw new SvccfgError(msg.deleted);
  if (!sel.instance) return { svc };
  const inst = svc.instances[sel.instance];
  if (!inst) throw new SvccfgError(msg.deleted);
  return { svc, inst };
}

/** The groups listprop shows for the selection (composed at an instance; the snapshot if one is selected). */
export function viewPgs(data: RepoData, sel: Selection): PgMap {
  const { svc, inst } = resolve(data, sel);
  if (!inst) return svc.pgs;
  if (sel.snapshot) {
    const snap = inst.snapshots[sel.snapshot];
    if (!snap) throw new SvccfgError(msg.deleted);
    return snap;
  }
  return composeForDisplay(svc, inst);
}

/** composePgs with the instance's own groups first (as an instance listing starts), then the service's. */
export function composeForDisplay(svc: ServiceData, inst: InstanceData): PgMap {
  const composed = composePgs(svc, inst);
  const out: PgMap = {};
  for (const name of Object.keys(inst.pgs)) out[name] = composed[name]!;
  for (const [name, pg] of Object.entries(composed)) if (!(name in out)) out[name] = pg;
  return out;
}

/**
 * Resolves `select` operands: first relative to the selection (a service name at the scope, an
 * instance name at a service), then as an FMRI, abbreviation or pattern, where a matching service
 * hides its own instances (SCF_WALK_SERVICE).
 */
export function selectTarget(data: RepoData, sel: Selection, target: string): Selection {
  if (target === "svc:") return {};
  if (target === ":properties") throw new SvccfgError(msg.notAnEntity);
  if (!sel.service && data.services[target]) return { service: target };
  if (sel.service && !sel.instance && data.services[sel.service]?.instances[target]) {
    return { service: sel.service, instance: target };
  }
  const matches = findMatches(target, entitiesOf(data));
  const services = new Set(matches.filter((m) => m.kind === "service").map((m) => m.service));
  const kept = matches.filter((m) => m.kind === "service" || !services.has(m.service));
  if (kept.length === 0) throw new SvccfgError(msg.noMatch(target));
  if (kept.length > 1) throw new SvccfgError(msg.multiMatch(target, kept.map(matchFmri)));
  const m = kept[0]!;
  return m.kind === "service" ? { service: m.service } : { service: m.service, instance: m.instance };
}
