/**
 * Dependencies between instances, as svc.startd's graph engine reads them: every property group
 * of type `dependency` in an instance's running snapshot (composed with its service; the editing
 * values before the first snapshot), with `entities` (FMRIs), `grouping` (require_all,
 * require_any, optional_all, exclude_all) and `restart_on`. A service FMRI stands for all its
 * instances; `file://` entities are not instances (svcs -d/-D list instances only).
 */
import { instanceFmri, parseFullFmri } from "./fmri.ts";
import { composePgs, type PgMap, type RepoData } from "./model.ts";

export interface Dependency {
  /** The property group's name (the manifest's dependency name). */
  name: string;
  grouping: string;
  restartOn: string;
  entities: string[];
}

export function dependencyGroups(pgs: PgMap): Dependency[] {
  const out: Dependency[] = [];
  for (const [name, pg] of Object.entries(pgs)) {
    if (pg.type !== "dependency") continue;
    out.push({
      name,
      grouping: pg.props.grouping?.values[0] ?? "require_all",
      restartOn: pg.props.restart_on?.values[0] ?? "none",
      entities: [...(pg.props.entities?.values ?? [])],
    });
  }
  return out;
}

/** The groups an instance runs with: its running snapshot, or its composed editing values. */
function instancePgs(data: RepoData, service: string, instance: string): PgMap {
  const svc = data.services[service];
  const inst = svc?.instances[instance];
  if (!svc || !inst) return {};
  return inst.snapshots.running ?? composePgs(svc, inst);
}

export function dependenciesOfInstance(data: RepoData, service: string, instance: string): Dependency[] {
  return dependencyGroups(instancePgs(data, service, instance));
}

/** The instance FMRIs an entity names (none for file:// or an absent service). */
export function entityInstances(data: RepoData, entity: string): string[] {
  const p = parseFullFmri(entity);
  if (!p) return [];
  const svc = data.services[p.service];
  if (!svc) return [];
  if (p.instance !== undefined) return svc.instances[p.instance] ? [instanceFmri(p.service, p.instance)] : [];
  return Object.keys(svc.instances).map((i) => instanceFmri(p.service, i));
}

/** svcs -d: the instances `service:instance` depends on, each once, in declaration order. */
export function dependencyInstances(data: RepoData, service: string, instance: string): string[] {
  const out: string[] = [];
  for (const dep of dependenciesOfInstance(data, service, instance)) {
    for (const entity of dep.entities) for (const fmri of entityInstances(data, entity)) if (!out.includes(fmri)) out.push(fmri);
  }
  return out;
}

/** svcs -D: the instances whose dependencies name `service:instance` (or its service). */
export function dependentInstances(data: RepoData, service: string, instance: string): string[] {
  const target = instanceFmri(service, instance);
  const out: string[] = [];
  for (const [s, svc] of Object.entries(data.services)) {
    for (const i of Object.keys(svc.instances)) {
      const fmri = instanceFmri(s, i);
      if (fmri === target || out.includes(fmri)) continue;
      if (dependencyInstances(data, s, i).includes(target)) out.push(fmri);
    }
  }
  return out;
}

/** Instance FMRI -> its state and next state, as the caller knows them. */
export type StateOf = (fmri: string) => { state: string; nextState: string } | undefined;

const up = (s: { state: string; nextState: string } | undefined) =>
  s !== undefined && (s.state === "online" || s.state === "degraded") && s.nextState === "none";
/** Can never come up without an administrator: disabled or in maintenance (or absent). */
const down = (s: { state: string; nextState: string } | undefined) =>
  s === undefined || s.state === "disabled" || s.state === "maintenance";

/**
 * Are the dependencies satisfied (the instance may start / stay up)? A dependency on its way down
 * (next_state set) is not: the dependent stops first, so that its stop method still finds it.
 */
export function dependenciesSatisfied(data: RepoData, service: string, instance: string, stateOf: StateOf): boolean {
  return unsatisfied(data, service, instance, stateOf).length === 0;
}

/** The dependency groups that are not satisfied, with the instances that keep them from being so. */
export function unsatisfied(data: RepoData, service: string, instance: string, stateOf: StateOf): Array<{ dep: Dependency; blocking: string[] }> {
  const out: Array<{ dep: Dependency; blocking: string[] }> = [];
  for (const dep of dependenciesOfInstance(data, service, instance)) {
    const fmris = dep.entities.flatMap((e) => entityInstances(data, e));
    let ok: boolean;
    let blocking: string[];
    switch (dep.grouping) {
      case "require_any":
        ok = fmris.some((f) => up(stateOf(f)));
        blocking = ok ? [] : fmris;
        break;
      case "optional_all":
        // Satisfied when each is up, or can never come up without an administrator.
        blocking = fmris.filter((f) => !up(stateOf(f)) && !down(stateOf(f)));
        ok = blocking.length === 0;
        break;
      case "exclude_all":
        blocking = fmris.filter((f) => { const s = stateOf(f); return s !== undefined && s.state !== "disabled" && s.state !== "maintenance"; });
        ok = blocking.length === 0;
        break;
      default:
        // require_all; an entity with no instance (absent) can never be satisfied.
        blocking = fmris.filter((f) => !up(stateOf(f)));
        ok = blocking.length === 0 && fmris.length >= dep.entities.length;
        break;
    }
    if (!ok) out.push({ dep, blocking });
  }
  return out;
}
