/**
 * The repository side of svccfg's manifest, profile and entity commands: import, apply, validate,
 * delete and revert. Each is a pure change of RepoData (the engine runs it inside one locked
 * update), with svccfg's messages for what cannot be done.
 */
import { findMatches, serviceFmri } from "../fmri.ts";
import { builtinDeclarations, templateOf, timeValue } from "../manifest.ts";
import {
  RESTARTER_SERVICE, XEND_SERVICE, clone, composePgs, takeSnapshot,
  type InstanceData, type PgMap, type RepoData, type Template,
} from "../model.ts";
import { entitiesOf } from "../repository.ts";
import { type Bundle, newInstance } from "./bundle.ts";
import { checkTemplate } from "./edit.ts";
import { SvccfgError, shown } from "./errors.ts";

/** Instances an import or apply touched, to be refreshed (running snapshot) and told to the restarter. */
export interface Touched {
  service: string;
  instance: string;
}

function templateFor(service: string, key: string, t: Omit<Template, "owner" | "default">, svcPgs: PgMap): Template {
  // xend's own properties keep their declared owner and default (a plugin's, the core's).
  if (service === XEND_SERVICE) {
    const [pg, prop] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    for (const { owner, properties } of builtinDeclarations()) {
      if (pg === "config" && properties[prop]) return templateOf(owner, properties[prop]!);
    }
  }
  const [pg, prop] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
  return { ...t, owner: "manifest", default: svcPgs[pg]?.props[prop]?.values[0] ?? "" };
}

/**
 * `svccfg import`: a new service is created as the manifest says (instances, their `initial`,
 * `last-import` and `running` snapshots); an existing one gains what it lacks — values the
 * administrator set are kept, as an SMF upgrade import keeps customised properties.
 */
export function importBundle(data: RepoData, bundle: Bundle, now = Date.now()): Touched[] {
  if (bundle.type === "profile") throw new SvccfgError("The file is a profile, not a manifest: use apply.\n");
  const touched: Touched[] = [];
  for (const b of bundle.services) {
    if (b.name === RESTARTER_SERVICE) throw new SvccfgError(`${serviceFmri(b.name)} is the master restarter; its definition is built in.\n`);
    const existing = data.services[b.name];
    const svc = existing ?? { pgs: {}, instances: {} };
    // A new service's groups in the order svccfg creates them: methods, template data, the rest.
    const rank = (type: string) => (type === "method" ? 0 : type === "template" ? 1 : 2);
    mergePgs(svc.pgs, existing ? b.pgs : Object.fromEntries(Object.entries(b.pgs).sort(([, x], [, y]) => rank(x.type) - rank(y.type))));
    const templates = (data.templates[serviceFmri(b.name)] ??= {});
    for (const [key, t] of Object.entries(b.templates)) templates[key] ??= templateFor(b.name, key, t, svc.pgs);
    data.services[b.name] = svc;
    for (const [name, bi] of Object.entries(b.instances)) {
      const inst = svc.instances[name];
      if (!inst) {
        svc.instances[name] = newInstance(bi, timeValue(now));
        takeSnapshot(data, b.name, name, "initial");
      } else {
        mergePgs(inst.pgs, bi.pgs);
      }
      takeSnapshot(data, b.name, name, "last-import");
      takeSnapshot(data, b.name, name, "running");
      touched.push({ service: b.name, instance: name });
    }
  }
  return touched;
}

/** Adds the groups and properties `from` has and `into` lacks; existing values win. */
function mergePgs(into: PgMap, from: PgMap): void {
  for (const [name, pg] of Object.entries(from)) {
    const have = into[name];
    if (!have) {
      into[name] = clone(pg);
      continue;
    }
    for (const [prop, p] of Object.entries(pg.props)) have.props[prop] ??= clone(p);
  }
}

/**
 * `svccfg apply`: a profile sets values and enables or disables instances of services that exist.
 * Values are checked against the templates first; nothing changes if one is wrong.
 */
export function applyProfile(data: RepoData, bundle: Bundle): Touched[] {
  const touched: Touched[] = [];
  for (const b of bundle.services) {
    const svc = data.services[b.name];
    if (!svc) throw new SvccfgError(`Service "${shown(b.name)}" not found.\n`);
    const templates = data.templates[serviceFmri(b.name)] ?? {};
    const check = (pgs: PgMap) => {
      for (const [pg, group] of Object.entries(pgs)) {
        for (const [prop, p] of Object.entries(group.props)) {
          const t = templates[`${pg}/${prop}`];
          if (t) checkTemplate(`${pg}/${prop}`, t, p.type, p.values);
        }
      }
    };
    check(b.pgs);
    for (const bi of Object.values(b.instances)) check(bi.pgs);
    setPgs(svc.pgs, b.pgs);
    for (const [name, bi] of Object.entries(b.instances)) {
      const inst = svc.instances[name];
      if (!inst) throw new SvccfgError(`Instance "${shown(name)}" of service "${shown(b.name)}" not found.\n`);
      setPgs(inst.pgs, bi.pgs);
      if (bi.enabled !== undefined) {
        (inst.pgs.general ??= { type: "framework", flags: 0, props: {} }).props.enabled = { type: "boolean", values: [String(bi.enabled)] };
      }
      touched.push({ service: b.name, instance: name });
    }
  }
  return touched;
}

function setPgs(into: PgMap, from: PgMap): void {
  for (const [name, pg] of Object.entries(from)) {
    const have = (into[name] ??= { type: pg.type, flags: pg.flags, props: {} });
    for (const [prop, p] of Object.entries(pg.props)) have.props[prop] = clone(p);
  }
}

/** Problems of a manifest: every value checked against its own templates and the repository's. */
export function validateBundle(data: RepoData, bundle: Bundle): string[] {
  const problems: string[] = [];
  for (const b of bundle.services) {
    const templates = { ...(data.templates[serviceFmri(b.name)] ?? {}) } as Record<string, Omit<Template, "owner" | "default">>;
    Object.assign(templates, b.templates);
    const check = (where: string, pgs: PgMap) => problems.push(...templateProblems(where, pgs, templates));
    check(serviceFmri(b.name), b.pgs);
    for (const [name, bi] of Object.entries(b.instances)) check(`${serviceFmri(b.name)}:${name}`, composePgs({ pgs: b.pgs, instances: {} }, { pgs: bi.pgs, snapshots: {} }));
  }
  return problems;
}

/** Problems of an instance's composed values against its service's templates. */
export function validateInstance(data: RepoData, service: string, instance: string): string[] {
  const svc = data.services[service]!;
  const pgs = composePgs(svc, svc.instances[instance]);
  return templateProblems(`${serviceFmri(service)}:${instance}`, pgs, data.templates[serviceFmri(service)] ?? {});
}

function templateProblems(where: string, pgs: PgMap, templates: Record<string, Omit<Template, "owner" | "default">>): string[] {
  const out: string[] = [];
  for (const [key, t] of Object.entries(templates)) {
    const [pg, prop] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    const p = pgs[pg]?.props[prop];
    if (!p) continue;
    try {
      checkTemplate(key, { ...t, owner: "", default: "" }, p.type, p.values);
    } catch (error) {
      if (!(error instanceof SvccfgError)) throw error;
      out.push(`${where}: ${error.text}`);
    }
  }
  return out;
}

/** `svccfg delete [-f] target`: a service (with its instances) or one instance. */
export function deleteEntity(data: RepoData, target: string, force: boolean): Array<{ service: string; instance?: string }> {
  const matches = findMatches(target, entitiesOf(data));
  if (matches.length === 0) throw new SvccfgError(`Pattern '${shown(target)}' doesn't match any instances or services\n`);
  const deleted: Array<{ service: string; instance?: string }> = [];
  for (const m of matches) {
    if (m.service === RESTARTER_SERVICE) throw new SvccfgError(`${serviceFmri(RESTARTER_SERVICE)} is the master restarter and cannot be deleted.\n`);
    const svc = data.services[m.service];
    if (!svc) continue;
    const instances = m.kind === "instance" ? [m.instance] : Object.keys(svc.instances);
    for (const name of instances) {
      if (!force && mayBeRunning(svc.instances[name])) {
        throw new SvccfgError(`Instance "${serviceFmri(m.service)}:${name}" may be running.  Use delete -f if it is not.\n`);
      }
    }
    if (m.kind === "instance") {
      delete svc.instances[m.instance];
      deleted.push({ service: m.service, instance: m.instance });
    } else {
      delete data.services[m.service];
      delete data.templates[serviceFmri(m.service)];
      deleted.push({ service: m.service });
    }
  }
  return deleted;
}

function mayBeRunning(inst: InstanceData | undefined): boolean {
  const state = inst?.pgs.restarter?.props.state?.values[0];
  return state === "online" || state === "degraded" || state === "offline" && inst?.pgs.restarter?.props.start_pid !== undefined;
}

/**
 * `svccfg revert [snapshot]`: the instance's and its service's editing values become those of the
 * snapshot. A value equal at the service stays there; what differs goes to the instance. The
 * instance's enabled flag and the restarter's state are not configuration and stay as they are.
 */
export function revertTo(data: RepoData, service: string, instance: string, snapshot: string): void {
  const svc = data.services[service]!;
  const inst = svc.instances[instance]!;
  const snap = inst.snapshots[snapshot];
  if (!snap) throw new SvccfgError("No such snapshot.\n");
  const keep: PgMap = {};
  for (const name of ["general", "restarter", "restarter_actions", "general_ovr"]) if (inst.pgs[name]) keep[name] = inst.pgs[name]!;
  const pgs: PgMap = {};
  for (const [name, pg] of Object.entries(snap)) {
    if (name in keep) continue;
    const base = svc.pgs[name];
    for (const [prop, p] of Object.entries(pg.props)) {
      const same = base?.props[prop] && JSON.stringify(base.props[prop]) === JSON.stringify(p);
      if (same) continue;
      (pgs[name] ??= { type: pg.type, flags: pg.flags, props: {} }).props[prop] = clone(p);
    }
    // A group the snapshot has, the service lacks and the instance ends up without: keep it, empty.
    if (!base && !pgs[name]) pgs[name] = { type: pg.type, flags: pg.flags, props: {} };
  }
  // Service-level values the snapshot lacks (added since) are removed from the service's groups.
  for (const [name, base] of Object.entries(svc.pgs)) {
    const s = snap[name];
    if (!s || name in keep) continue;
    for (const prop of Object.keys(base.props)) if (!(prop in s.props)) delete base.props[prop];
  }
  inst.pgs = { ...pgs, ...keep };
}
