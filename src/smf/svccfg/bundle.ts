/**
 * Service bundles read back (`svccfg import` of a manifest, `svccfg apply` of a profile): the
 * elements `svccfg export` writes (export.ts) and the ones illumos manifests commonly hold —
 * create_default_instance, dependency, exec_method, property_group, propval, property lists,
 * instance, stability and the template's common_name, documentation and prop_pattern — become
 * repository data. Elements with no meaning here (method_context, dependent, single_instance,
 * restarter) are accepted and skipped, as a manifest written for Solaris must still import.
 */
import type { InstanceData, PgMap, Property, ServiceData, Template } from "../model.ts";
import { isSmfType, normaliseValue, type SmfType } from "../values.ts";
import { parseXml, XmlError, type XmlElement } from "../xml.ts";
import { SvccfgError, shown } from "./errors.ts";

export interface BundleService {
  name: string;
  pgs: PgMap;
  instances: Record<string, { enabled?: boolean; pgs: PgMap }>;
  templates: Record<string, Omit<Template, "owner" | "default">>;
}

export interface Bundle {
  type: "manifest" | "profile" | "archive";
  services: BundleService[];
}

const MAX_SERVICES = 256;
const MAX_PROPERTIES = 10_000;

export function readBundle(text: string, file: string): Bundle {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (error) {
    if (error instanceof XmlError) throw new SvccfgError(`${shown(file)}: ${shown(error.message)}\n`);
    throw error;
  }
  const bad = (el: XmlElement, message: string): never => {
    throw new SvccfgError(`${shown(file)}: line ${el.line}: ${shown(message)}\n`);
  };
  if (root.name !== "service_bundle") bad(root, `the document element is <${root.name}>, not <service_bundle>`);
  const type = root.attrs.type ?? "manifest";
  if (type !== "manifest" && type !== "profile" && type !== "archive") bad(root, `service_bundle type '${type}' is not manifest, profile or archive`);
  let count = 0;
  const services: BundleService[] = [];

  const value = (el: XmlElement, t: SmfType, raw: string): string => {
    const stored = normaliseValue(t, raw);
    if (stored === undefined) bad(el, `invalid ${t} value '${raw}'`);
    return stored!;
  };
  const typeOf = (el: XmlElement): SmfType => {
    const t = el.attrs.type;
    if (!t || !isSmfType(t)) return bad(el, `<${el.name} name='${el.attrs.name ?? ""}'> has no valid type ('${t ?? ""}')`);
    return t;
  };
  const need = (el: XmlElement, attr: string): string => {
    const v = el.attrs[attr];
    if (v === undefined || v === "") bad(el, `<${el.name}> needs a '${attr}' attribute`);
    return v!;
  };
  const property = (el: XmlElement): [string, Property] => {
    if (++count > MAX_PROPERTIES) bad(el, `more than ${MAX_PROPERTIES} properties`);
    const name = need(el, "name");
    const t = typeOf(el);
    if (el.name === "propval") return [name, { type: t, values: [value(el, t, el.attrs.value ?? "")] }];
    const values: string[] = [];
    for (const list of el.children) {
      if (!list.name.endsWith("_list")) continue;
      for (const node of list.children) if (node.name === "value_node") values.push(value(node, t, node.attrs.value ?? ""));
    }
    return [name, { type: t, values }];
  };
  const groupInto = (pgs: PgMap, el: XmlElement): void => {
    switch (el.name) {
      case "property_group": {
        const name = need(el, "name");
        const pg = (pgs[name] ??= { type: el.attrs.type ?? "application", flags: 0, props: {} });
        for (const p of el.children) {
          if (p.name === "propval" || p.name === "property") {
            const [n, prop] = property(p);
            pg.props[n] = prop;
          }
        }
        return;
      }
      case "exec_method": {
        const name = need(el, "name");
        const pg = (pgs[name] ??= { type: "method", flags: 0, props: {} });
        pg.props.exec = { type: "astring", values: [el.attrs.exec ?? ":true"] };
        pg.props.timeout_seconds = { type: "count", values: [value(el, "count", el.attrs.timeout_seconds ?? "0")] };
        for (const p of el.children) {
          if (p.name === "propval" || p.name === "property") {
            const [n, prop] = property(p);
            pg.props[n] = prop;
          }
        }
        return;
      }
      case "dependency": {
        // As svc.configd stores it: a group of type dependency whose `entities` are the FMRIs.
        const name = need(el, "name");
        const entities = el.children.filter((c) => c.name === "service_fmri").map((c) => need(c, "value"));
        pgs[name] = {
          type: "dependency",
          flags: 0,
          props: {
            grouping: { type: "astring", values: [el.attrs.grouping ?? "require_all"] },
            restart_on: { type: "astring", values: [el.attrs.restart_on ?? "none"] },
            type: { type: "astring", values: [el.attrs.type ?? "service"] },
            entities: { type: "fmri", values: entities },
          },
        };
        return;
      }
    }
  };

  for (const svcEl of root.children) {
    if (svcEl.name !== "service") continue;
    if (services.length >= MAX_SERVICES) bad(svcEl, `more than ${MAX_SERVICES} services`);
    const name = need(svcEl, "name").replace(/^svc:\//, "");
    if (!/^[A-Za-z][A-Za-z0-9_.,-]*(\/[A-Za-z][A-Za-z0-9_.,-]*)*$/.test(name)) bad(svcEl, `'${name}' is not a valid service name`);
    const service: BundleService = { name, pgs: {}, instances: {}, templates: {} };
    let stability: string | undefined;
    for (const el of svcEl.children) {
      switch (el.name) {
        case "create_default_instance":
          service.instances.default ??= { pgs: {} };
          service.instances.default.enabled = el.attrs.enabled === "true";
          break;
        case "instance": {
          const instName = need(el, "name");
          const inst = (service.instances[instName] ??= { pgs: {} });
          if (el.attrs.enabled !== undefined) inst.enabled = el.attrs.enabled === "true";
          for (const child of el.children) groupInto(inst.pgs, child);
          break;
        }
        case "stability":
          stability = el.attrs.value;
          break;
        case "template":
          readTemplate(el, service, bad);
          break;
        default:
          groupInto(service.pgs, el);
      }
    }
    for (const inst of Object.values(service.instances)) {
      if (stability) (inst.pgs.general ??= { type: "framework", flags: 0, props: {} }).props.entity_stability = { type: "astring", values: [stability] };
    }
    services.push(service);
  }
  if (services.length === 0) bad(root, "the bundle holds no service");
  return { type: type as Bundle["type"], services };
}

function loctext(el: XmlElement | undefined): string | undefined {
  const t = el?.children.find((c) => c.name === "loctext" && (c.attrs["xml:lang"] ?? "C") === "C") ?? el?.children.find((c) => c.name === "loctext");
  return t?.text.trim();
}

function readTemplate(el: XmlElement, service: BundleService, bad: (el: XmlElement, message: string) => never): void {
  for (const child of el.children) {
    if (child.name === "common_name") {
      const name = loctext(child);
      if (name !== undefined) service.pgs.tm_common_name = { type: "template", flags: 0, props: { C: { type: "ustring", values: [name] } } };
    } else if (child.name === "documentation") {
      for (const m of child.children) {
        if (m.name !== "manpage") continue;
        const title = m.attrs.title ?? "";
        service.pgs[`tm_man_${title.replace(/[^A-Za-z0-9_]/g, "_")}`] = {
          type: "template",
          flags: 0,
          props: { title: { type: "astring", values: [title] }, section: { type: "astring", values: [m.attrs.section ?? ""] } },
        };
      }
    } else if (child.name === "pg_pattern") {
      const pg = child.attrs.name;
      if (!pg) continue;
      for (const p of child.children) {
        if (p.name !== "prop_pattern" || !p.attrs.name) continue;
        const type = p.attrs.type;
        if (!type || !isSmfType(type)) bad(p, `prop_pattern '${p.attrs.name}' has no valid type`);
        const t: Omit<Template, "owner" | "default"> = { description: loctext(p.children.find((c) => c.name === "description")) ?? "", type: type as SmfType };
        const constraints = p.children.find((c) => c.name === "constraints");
        const range = constraints?.children.find((c) => c.name === "range");
        if (range?.attrs.min !== undefined) t.min = Number(range.attrs.min);
        if (range?.attrs.max !== undefined) t.max = Number(range.attrs.max);
        const values = constraints?.children.filter((c) => c.name === "value").map((c) => c.attrs.name ?? "");
        if (values && values.length > 0) t.values = values;
        service.templates[`${pg}/${p.attrs.name}`] = t;
      }
    }
  }
}

/** The instance data a new instance starts with: its own groups, enabled, and the restarter's state. */
export function newInstance(b: { enabled?: boolean; pgs: PgMap }, nowValue: string): InstanceData {
  // general first, enabled first in it: the order svccfg lists a freshly created instance in.
  const own: PgMap = structuredClone(b.pgs);
  const general = { type: "framework", flags: 0, props: { enabled: { type: "boolean" as const, values: [b.enabled ? "true" : "false"] }, ...own.general?.props } };
  delete own.general;
  const pgs: PgMap = { general, ...own };
  pgs.restarter = {
    type: "framework",
    flags: 1,
    props: {
      state: { type: "astring", values: ["disabled"] },
      next_state: { type: "astring", values: ["none"] },
      state_timestamp: { type: "time", values: [nowValue] },
      auxiliary_state: { type: "astring", values: ["none"] },
    },
  };
  return { pgs, snapshots: {} };
}

export type { ServiceData };
