/**
 * The service's manifest, generated from what the core and the plugins declare: importing it
 * creates svc:/system/xvm/xend with its `config` group at the service level (the defaults), an
 * instance `default` whose own `config` group starts empty (instance values override the service's),
 * and the `running` snapshot the daemon reads. The same import adds xend's companion service
 * svc:/system/xvm/domains (./domains-service.ts) and the master restarter's entry.
 */
import type { PropertyDecls } from "../plugin/contract.ts";
import { CORE_OWNER, CORE_PROPERTIES } from "../plugin/core-properties.ts";
import { BUILTIN_PROPERTIES } from "./builtin-properties.ts";
import { addDomainsService } from "./domains-service.ts";
import {
  RESTARTER_SERVICE, XEND_INSTANCE, XEND_SERVICE, serviceFmriOf, setProp, takeSnapshot,
  type PgMap, type RepoData, type Template,
} from "./model.ts";
import { storedValue, type SmfType } from "./values.ts";

export function templateOf(owner: string, decl: PropertyDecls[string]): Template {
  const t: Template = { owner, description: decl.description, type: decl.type as SmfType, default: storedValue(decl.type as SmfType, decl.default) };
  if (decl.min !== undefined) t.min = decl.min;
  if (decl.max !== undefined) t.max = decl.max;
  if (decl.values) t.values = [...decl.values];
  return t;
}

/** Declarations of the core and the built-in plugins, in registration order. */
export function builtinDeclarations(): Array<{ owner: string; properties: PropertyDecls }> {
  return [
    { owner: CORE_OWNER, properties: CORE_PROPERTIES },
    ...BUILTIN_PROPERTIES,
  ];
}

/**
 * Adds declared properties that the repository does not have yet (a new plugin, an upgrade):
 * the default at the service level, the template, and the value in `running` — a new default is
 * not an administrator's change, so it needs no refresh. Existing values are never touched.
 * Returns the names added.
 */
export function importDeclarations(data: RepoData, owner: string, properties: PropertyDecls): string[] {
  const svc = data.services[XEND_SERVICE];
  if (!svc) return [];
  const templates = (data.templates[serviceFmriOf(XEND_SERVICE)] ??= {});
  const added: string[] = [];
  for (const [name, decl] of Object.entries(properties)) {
    const key = `config/${name}`;
    if (!templates[key]) templates[key] = templateOf(owner, decl);
    if (svc.pgs.config?.props[name]) continue;
    const t = templateOf(owner, decl);
    setProp(svc.pgs, "config", name, t.type, [t.default]);
    const running = svc.instances[XEND_INSTANCE]?.snapshots.running;
    if (running && !running.config?.props[name]) setProp(running, "config", name, t.type, [t.default]);
    added.push(name);
  }
  return added;
}

export function seedRepository(now = Date.now()): RepoData {
  const data: RepoData = { format: "xvm-repository", version: 1, generation: 0, services: {}, templates: {} };
  const svcPgs: PgMap = {};
  setProp(svcPgs, "start", "exec", "astring", ["/usr/lib/xend"], "method");
  setProp(svcPgs, "start", "timeout_seconds", "count", ["60"], "method");
  setProp(svcPgs, "stop", "exec", "astring", [":kill"], "method");
  setProp(svcPgs, "stop", "timeout_seconds", "count", ["60"], "method");
  setProp(svcPgs, "refresh", "exec", "astring", [":kill -HUP"], "method");
  setProp(svcPgs, "refresh", "timeout_seconds", "count", ["60"], "method");
  setProp(svcPgs, "tm_common_name", "C", "ustring", ["xVM control daemon"], "template");
  setProp(svcPgs, "tm_man_xend", "title", "astring", ["xend"], "template");
  setProp(svcPgs, "tm_man_xend", "section", "astring", ["1M"], "template");
  const instPgs: PgMap = {};
  setProp(instPgs, "general", "enabled", "boolean", ["false"], "framework");
  setProp(instPgs, "general", "entity_stability", "astring", ["Volatile"], "framework");
  instPgs.config = { type: "application", flags: 0, props: {} };
  setProp(instPgs, "restarter", "state", "astring", ["disabled"], "framework", 1);
  setProp(instPgs, "restarter", "next_state", "astring", ["none"], "framework", 1);
  setProp(instPgs, "restarter", "state_timestamp", "time", [timeValue(now)], "framework", 1);
  setProp(instPgs, "restarter", "auxiliary_state", "astring", ["none"], "framework", 1);
  data.services[XEND_SERVICE] = { pgs: svcPgs, instances: { [XEND_INSTANCE]: { pgs: instPgs, snapshots: {} } } };

  const rPgs: PgMap = {};
  setProp(rPgs, "tm_common_name", "C", "ustring", ["Master restarter"], "template");
  const rInst: PgMap = {};
  setProp(rInst, "general", "enabled", "boolean", ["true"], "framework");
  setProp(rInst, "restarter", "state", "astring", ["offline"], "framework", 1);
  setProp(rInst, "restarter", "next_state", "astring", ["none"], "framework", 1);
  setProp(rInst, "restarter", "state_timestamp", "time", [timeValue(now)], "framework", 1);
  data.services[RESTARTER_SERVICE] = { pgs: rPgs, instances: { default: { pgs: rInst, snapshots: {} } } };

  for (const { owner, properties } of builtinDeclarations()) importDeclarations(data, owner, properties);
  takeSnapshot(data, XEND_SERVICE, XEND_INSTANCE, "initial");
  takeSnapshot(data, XEND_SERVICE, XEND_INSTANCE, "running");
  addDomainsService(data, now);
  return data;
}

/** SMF time value: seconds with a 9-digit fraction. */
export function timeValue(ms: number): string {
  const sec = Math.floor(ms / 1000);
  const ns = Math.round((ms - sec * 1000) * 1e6);
  return `${sec}.${String(ns).padStart(9, "0")}`;
}
