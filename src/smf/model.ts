/**
 * The repository's data: services, instances, property groups, typed properties, snapshots.
 * Pure functions over plain objects, so the same code serves the CLI, the restarter and the daemon.
 */
import type { SmfType } from "./values.ts";

export interface Property {
  type: SmfType;
  values: string[];
}

export interface PropertyGroup {
  type: string;
  /** SMF pg flags: 1 = nonpersistent (dropped when the restarter starts on a fresh boot). */
  flags: number;
  props: Record<string, Property>;
}

export type PgMap = Record<string, PropertyGroup>;

export interface InstanceData {
  pgs: PgMap;
  /** name -> composed property groups at the time the snapshot was taken. */
  snapshots: Record<string, PgMap>;
}

export interface ServiceData {
  pgs: PgMap;
  instances: Record<string, InstanceData>;
}

/** What a plugin (or the core) declared about a config property: shown by describe, enforced by setprop. */
export interface Template {
  owner: string;
  description: string;
  type: SmfType;
  default: string;
  min?: number;
  max?: number;
  values?: string[];
}

export interface RepoData {
  format: "xvm-repository";
  version: 1;
  /** Bumped on every committed change. */
  generation: number;
  services: Record<string, ServiceData>;
  /** "svc:/system/xvm/xend" -> "config/dom0-cpus" -> template. */
  templates: Record<string, Record<string, Template>>;
}

export const XEND_SERVICE = "system/xvm/xend";
export const XEND_INSTANCE = "default";
export const XEND_FMRI = "svc:/system/xvm/xend:default";
/** xVM's companion service: on_xend_start / on_xend_stop of the managed domains (src/smf/domains-service.ts). */
export const DOMAINS_SERVICE = "system/xvm/domains";
export const DOMAINS_INSTANCE = "default";
export const DOMAINS_FMRI = "svc:/system/xvm/domains:default";
export const RESTARTER_SERVICE = "system/svc/restarter";
export const RESTARTER_FMRI = "svc:/system/svc/restarter:default";

export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** Service-level groups overlaid, property by property, with the instance's (what svcprop shows). */
export function composePgs(service: ServiceData, instance: InstanceData | undefined): PgMap {
  const out: PgMap = clone(service.pgs);
  if (!instance) return out;
  for (const [name, pg] of Object.entries(instance.pgs)) {
    const base = out[name];
    if (!base) {
      out[name] = clone(pg);
      continue;
    }
    out[name] = { type: pg.type, flags: pg.flags, props: { ...base.props, ...clone(pg.props) } };
  }
  return out;
}

/** Takes (or replaces) a named snapshot of an instance's composed configuration. */
export function takeSnapshot(data: RepoData, service: string, instance: string, name: string): void {
  const svc = data.services[service];
  const inst = svc?.instances[instance];
  if (!svc || !inst) return;
  // Restarter bookkeeping is not configuration; SMF keeps it out of snapshots too.
  const composed = composePgs(svc, inst);
  for (const pg of ["restarter", "restarter_actions", "general_ovr"]) delete composed[pg];
  inst.snapshots[name] = composed;
}

export function getProp(pgs: PgMap, pg: string, prop: string): Property | undefined {
  return pgs[pg]?.props[prop];
}

export function firstValue(pgs: PgMap, pg: string, prop: string): string | undefined {
  return getProp(pgs, pg, prop)?.values[0];
}

/** Sets a property, creating the group (of the given type) if needed. */
export function setProp(pgs: PgMap, pg: string, prop: string, type: SmfType, values: string[], pgType = "application", flags = 0): void {
  const group = (pgs[pg] ??= { type: pgType, flags, props: {} });
  group.props[prop] = { type, values: [...values] };
}

export function serviceFmriOf(service: string): string {
  return `svc:/${service}`;
}
