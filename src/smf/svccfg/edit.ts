/**
 * The editing commands (lscf_setprop, lscf_addpg, lscf_delprop, lscf_addpropvalue, …) as pure
 * changes to repository data; each throws SvccfgError before changing anything, so the caller's
 * transaction commits all or nothing.
 *
 * xvm rules on top of SMF (docs/smf.md):
 *  - at an instance, a group or property that only the service has is created at the instance
 *    (same group type, property type inherited), so an instance value overrides the service's;
 *  - a property with a template (declared by a plugin or the core) keeps the template's type, single
 *    value, range and allowed values.
 */
import { fnmatch, serviceFmri } from "../fmri.ts";
import type { InstanceData, PgMap, Property, PropertyGroup, RepoData, ServiceData, Template } from "../model.ts";
import { isSmfType, normaliseValue, type SmfType } from "../values.ts";
import { type Selection, NAME_RE, resolve } from "./entities.ts";
import { SvccfgError, msg, shown } from "./errors.ts";

interface Target {
  svc: ServiceData;
  inst?: InstanceData;
  /** The groups being edited: the instance's own, or the service's. */
  pgs: PgMap;
  templates: Record<string, Template>;
}

function target(data: RepoData, sel: Selection): Target {
  if (sel.snapshot) throw new SvccfgError(msg.cantModifySnapshots);
  const { svc, inst } = resolve(data, sel);
  const templates = data.templates[serviceFmri(sel.service!)] ?? {};
  return inst ? { svc, inst, pgs: inst.pgs, templates } : { svc, pgs: svc.pgs, templates };
}

/** string_to_type: the word must end with ':' and name an SMF type. */
function parseTypeWord(word: string): SmfType {
  const name = word.endsWith(":") ? word.slice(0, -1) : undefined;
  if (name === undefined || !isSmfType(name)) throw new SvccfgError(msg.unknownType(word));
  return name;
}

/** string_to_value: a leading `"` means first and last characters are quotes to strip. */
function parseValue(text: string, type: SmfType, requireQuotes: boolean): string {
  if (requireQuotes && (text.length < 2 || !text.startsWith('"') || !text.endsWith('"'))) {
    throw new SvccfgError(msg.quotesRequired);
  }
  const raw = text.startsWith('"') ? text.slice(1, -1) : text;
  const stored = normaliseValue(type, raw);
  if (stored === undefined) throw new SvccfgError(`Invalid "${type}" value "${shown(raw)}".\n`);
  return stored;
}

function splitName(name: string): [string, string] {
  const slash = name.indexOf("/");
  if (slash < 0) throw new SvccfgError(msg.needSlash);
  return [name.slice(0, slash), name.slice(slash + 1)];
}

/**
 * The group to edit: the entity's own, or — at an instance — a new instance group shaped like the
 * service's group of that name.
 */
function editableGroup(t: Target, pgName: string): PropertyGroup {
  if (!NAME_RE.test(pgName)) throw new SvccfgError(msg.invalidPgName(pgName));
  const own = t.pgs[pgName];
  if (own) return own;
  const inherited = t.inst ? t.svc.pgs[pgName] : undefined;
  if (!inherited) throw new SvccfgError(msg.noSuchPg(pgName));
  const created: PropertyGroup = { type: inherited.type, flags: inherited.flags, props: {} };
  t.pgs[pgName] = created;
  return created;
}

function rangeText(t: Template): string {
  if (t.min !== undefined && t.max !== undefined) return `${t.min}-${t.max}`;
  return t.min !== undefined ? `>= ${t.min}` : `<= ${t.max}`;
}

/**
 * Template constraints. Messages follow SMF's `Invalid "<type>" value "<v>".` with the reason
 * appended (xvm's choice; SMF's own template validation is a separate `validate` step).
 */
export function checkTemplate(name: string, t: Template, type: SmfType, values: string[]): void {
  if (type !== t.type) throw new SvccfgError(`Invalid type "${type}" for ${name} (the template requires "${t.type}").\n`);
  if (values.length !== 1) throw new SvccfgError(`Property ${name} takes exactly one value.\n`);
  const v = values[0]!;
  if ((t.min !== undefined || t.max !== undefined) && (type === "integer" || type === "count")) {
    const n = BigInt(v);
    if ((t.min !== undefined && n < BigInt(t.min)) || (t.max !== undefined && n > BigInt(t.max))) {
      throw new SvccfgError(`Invalid "${type}" value "${shown(v)}" for ${name} (${rangeText(t)}).\n`);
    }
  }
  if (t.values && !t.values.includes(v)) {
    throw new SvccfgError(`Invalid "${type}" value "${shown(v)}" for ${name} (${t.values.join(", ")}).\n`);
  }
}

export interface SetpropArgs {
  name: string;
  type?: string;
  value?: string;
  values?: string[];
}

/** setprop pg/name = [type:] value | ( values… ). */
export function setprop(data: RepoData, sel: Selection, args: SetpropArgs): void {
  const t = target(data, sel);
  const [pgName, propName] = splitName(args.name);
  const given = args.type === undefined ? undefined : parseTypeWord(args.type);
  const pg = editableGroup(t, pgName);
  if (!NAME_RE.test(propName)) throw new SvccfgError(msg.invalidPropName(propName));
  const template = t.templates[args.name];
  const existing = pg.props[propName];
  const type: SmfType | undefined =
    given ?? existing?.type ?? (t.inst ? t.svc.pgs[pgName]?.props[propName]?.type : undefined) ?? template?.type;
  if (type === undefined) throw new SvccfgError(msg.typeRequired);
  const requireQuotes = type === "astring" || type === "ustring";
  const values =
    args.values !== undefined ? args.values.map((v) => parseValue(v, type, requireQuotes)) : [parseValue(args.value!, type, false)];
  if (template) checkTemplate(args.name, template, type, values);
  pg.props[propName] = { type, values };
}

/** addpropvalue pg/name [type:] value: appends one value (creating the property if a type is known). */
export function addpropvalue(data: RepoData, sel: Selection, name: string, typeWord: string | undefined, value: string): void {
  const t = target(data, sel);
  const [pgName, propName] = splitName(name);
  const given = typeWord === undefined ? undefined : parseTypeWord(typeWord);
  const pg = editableGroup(t, pgName);
  if (!NAME_RE.test(propName)) throw new SvccfgError(msg.invalidPropName(propName));
  const inherited = t.inst ? t.svc.pgs[pgName]?.props[propName] : undefined;
  const current: Property | undefined = pg.props[propName] ?? (inherited ? { type: inherited.type, values: [...inherited.values] } : undefined);
  const template = t.templates[name];
  const type = current?.type ?? given ?? template?.type;
  if (type === undefined) throw new SvccfgError(msg.typeRequired);
  if (given !== undefined && given !== type) {
    throw new SvccfgError(`Type "${shown(given)}" does not match the type of ${name} ("${type}").\n`);
  }
  const values = [...(current?.values ?? []), parseValue(value, type, false)];
  if (template) checkTemplate(name, template, type, values);
  pg.props[propName] = { type, values };
}

/** delpropvalue pg/name glob: removes the values matching the glob. */
export function delpropvalue(data: RepoData, sel: Selection, name: string, pattern: string): void {
  const t = target(data, sel);
  const [pgName, propName] = splitName(name);
  if (!NAME_RE.test(pgName)) throw new SvccfgError(msg.invalidPgName(pgName));
  // At an instance, a property it inherits from its service is the composed one: deleting a value
  // gives the instance its own copy without that value (the service keeps its own).
  const inherited = t.inst ? t.svc.pgs[pgName] : undefined;
  const pg = t.pgs[pgName] ?? (inherited ? { type: inherited.type, flags: inherited.flags, props: {} } : undefined);
  if (!pg) throw new SvccfgError(msg.noSuchPg(pgName));
  const own = pg.props[propName];
  const prop = own ?? (inherited?.props[propName] ? structuredClone(inherited.props[propName]) : undefined);
  if (!prop) throw new SvccfgError(msg.noSuchProp(pgName, propName));
  t.pgs[pgName] = pg;
  pg.props[propName] = prop;
  const glob = pattern.startsWith('"') ? pattern.slice(1, -1) : pattern;
  const values = prop.values.filter((v) => !fnmatch(glob, v));
  const template = t.templates[name];
  if (template && values.length !== prop.values.length) checkTemplate(name, template, prop.type, values);
  prop.values = values;
}

/** delprop pg[/name]: deletes a property, or the whole group. At an instance, only the instance's own. */
export function delprop(data: RepoData, sel: Selection, name: string): void {
  const t = target(data, sel);
  const slash = name.indexOf("/");
  const pgName = slash < 0 ? name : name.slice(0, slash);
  if (!NAME_RE.test(pgName)) throw new SvccfgError(msg.invalidPgName(pgName));
  const pg = t.pgs[pgName];
  if (!pg) throw new SvccfgError(msg.noSuchPg(pgName));
  if (slash < 0) {
    delete t.pgs[pgName];
    return;
  }
  const propName = name.slice(slash + 1);
  if (!NAME_RE.test(propName)) throw new SvccfgError(msg.invalidPropName(propName));
  if (!pg.props[propName]) throw new SvccfgError(msg.noSuchProp(pgName, propName));
  delete pg.props[propName];
}

/** delpg name: delprop without a `/`. */
export function delpg(data: RepoData, sel: Selection, name: string): void {
  if (sel.snapshot) throw new SvccfgError(msg.cantModifySnapshots);
  resolve(data, sel);
  if (name.includes("/")) throw new SvccfgError(msg.invalidPgName(name));
  delprop(data, sel, name);
}

/** addpg name type [flags]: P makes it nonpersistent, p persistent. */
export function addpg(data: RepoData, sel: Selection, name: string, type: string, flags?: string): void {
  const t = target(data, sel);
  let f = 0;
  for (const ch of flags ?? "") {
    if (ch === "P") f |= 1;
    else if (ch === "p") f &= ~1;
    else throw new SvccfgError(msg.pgFlag(ch));
  }
  if (!NAME_RE.test(name) || !/^[A-Za-z][A-Za-z0-9_.,-]*$/.test(type)) throw new SvccfgError(msg.pgInvalid);
  if (t.pgs[name]) throw new SvccfgError(msg.pgExists);
  t.pgs[name] = { type, flags: f, props: {} };
}
