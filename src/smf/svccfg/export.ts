/**
 * `svccfg export`: an SMF service bundle (manifest) for a service, shaped like what svccfg's
 * export_service() writes — single-quoted attributes, two-space indentation, method groups as
 * exec_method, general/enabled as the instance's `enabled`, simple properties as propval, lists as
 * property/*_list, and a template section with the plugins' descriptions and constraints.
 * Nonpersistent groups (restarter state) and snapshots are not exported, as in SMF.
 */
import type { InstanceData, PgMap, Property, PropertyGroup, ServiceData, Template } from "../model.ts";

const DTD = "/usr/share/lib/xml/dtd/service_bundle.dtd.1";

function attr(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;").replace(/\n/g, "&#10;");
}

function text(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

class Xml {
  lines: string[] = [];
  line(depth: number, s: string): void {
    this.lines.push(`${"  ".repeat(depth)}${s}`);
  }
}

function property(x: Xml, depth: number, name: string, prop: Property): void {
  if (prop.values.length === 1) {
    x.line(depth, `<propval name='${attr(name)}' type='${prop.type}' value='${attr(prop.values[0]!)}'/>`);
    return;
  }
  if (prop.values.length === 0) {
    x.line(depth, `<property name='${attr(name)}' type='${prop.type}'/>`);
    return;
  }
  x.line(depth, `<property name='${attr(name)}' type='${prop.type}'>`);
  x.line(depth + 1, `<${prop.type}_list>`);
  for (const v of prop.values) x.line(depth + 2, `<value_node value='${attr(v)}'/>`);
  x.line(depth + 1, `</${prop.type}_list>`);
  x.line(depth, "</property>");
}

function group(x: Xml, depth: number, name: string, pg: PropertyGroup): void {
  const props = Object.entries(pg.props);
  if (props.length === 0) {
    x.line(depth, `<property_group name='${attr(name)}' type='${attr(pg.type)}'/>`);
    return;
  }
  x.line(depth, `<property_group name='${attr(name)}' type='${attr(pg.type)}'>`);
  for (const [n, p] of props) property(x, depth + 1, n, p);
  x.line(depth, "</property_group>");
}

/** Method groups become exec_method elements, whose exec and timeout_seconds are attributes. */
function method(x: Xml, depth: number, name: string, pg: PropertyGroup): void {
  const exec = pg.props.exec?.values[0] ?? ":true";
  const timeout = pg.props.timeout_seconds?.values[0] ?? "0";
  const rest = Object.entries(pg.props).filter(([n]) => n !== "exec" && n !== "timeout_seconds");
  const head = `<exec_method name='${attr(name)}' type='method' exec='${attr(exec)}' timeout_seconds='${attr(timeout)}'`;
  if (rest.length === 0) {
    x.line(depth, `${head}/>`);
    return;
  }
  x.line(depth, `${head}>`);
  for (const [n, p] of rest) property(x, depth + 1, n, p);
  x.line(depth, "</exec_method>");
}

const DEPENDENCY_PROPS = ["entities", "grouping", "restart_on", "type"];

/** A dependency group as svccfg exports it: a dependency element naming its FMRIs (when it holds only those). */
function isPlainDependency(pg: PropertyGroup): boolean {
  return pg.type === "dependency" && Object.keys(pg.props).every((n) => DEPENDENCY_PROPS.includes(n))
    && (pg.props.entities?.values.length ?? 0) > 0 && ["fmri", "astring"].includes(pg.props.entities!.type);
}

function dependency(x: Xml, depth: number, name: string, pg: PropertyGroup): void {
  const v = (p: string, d: string) => pg.props[p]?.values[0] ?? d;
  x.line(depth, `<dependency name='${attr(name)}' grouping='${attr(v("grouping", "require_all"))}' restart_on='${attr(v("restart_on", "none"))}' type='${attr(v("type", "service"))}'>`);
  for (const fmri of pg.props.entities!.values) x.line(depth + 1, `<service_fmri value='${attr(fmri)}'/>`);
  x.line(depth, "</dependency>");
}

/** Groups other than methods, templates and nonpersistent state; framework bits handled elsewhere. */
function groups(x: Xml, depth: number, pgs: PgMap, skip: (name: string) => boolean): void {
  const kept = Object.entries(pgs).filter(([name, pg]) => !(pg.flags & 1) && pg.type !== "template" && !skip(name));
  // The DTD's order: dependency, exec_method, then property_group elements.
  for (const [name, pg] of kept) if (isPlainDependency(pg)) dependency(x, depth, name, pg);
  for (const [name, pg] of kept) if (pg.type === "method") method(x, depth, name, pg);
  for (const [name, pg] of kept) if (pg.type !== "method" && !isPlainDependency(pg)) group(x, depth, name, pg);
}

function instance(x: Xml, depth: number, name: string, inst: InstanceData): void {
  const general = inst.pgs.general;
  const enabled = general?.props.enabled?.values[0] ?? "false";
  const generalRest = Object.entries(general?.props ?? {}).filter(([n]) => n !== "enabled" && n !== "entity_stability");
  const body = new Xml();
  if (generalRest.length) group(body, depth + 1, "general", { ...general!, props: Object.fromEntries(generalRest) });
  groups(body, depth + 1, inst.pgs, (n) => n === "general" || n === "restarter_actions");
  if (body.lines.length === 0) {
    x.line(depth, `<instance name='${attr(name)}' enabled='${enabled}'/>`);
    return;
  }
  x.line(depth, `<instance name='${attr(name)}' enabled='${enabled}'>`);
  x.lines.push(...body.lines);
  x.line(depth, "</instance>");
}

function template(x: Xml, depth: number, svc: ServiceData, templates: Record<string, Template>): void {
  const commonName = svc.pgs.tm_common_name?.props.C?.values[0];
  const manpages = Object.entries(svc.pgs).filter(([n, pg]) => n.startsWith("tm_man_") && pg.type === "template");
  const byGroup = new Map<string, Array<[string, Template]>>();
  for (const [key, t] of Object.entries(templates)) {
    const [pg, prop] = [key.slice(0, key.indexOf("/")), key.slice(key.indexOf("/") + 1)];
    if (!byGroup.has(pg)) byGroup.set(pg, []);
    byGroup.get(pg)!.push([prop, t]);
  }
  if (!commonName && manpages.length === 0 && byGroup.size === 0) return;
  x.line(depth, "<template>");
  if (commonName) {
    x.line(depth + 1, "<common_name>");
    x.line(depth + 2, `<loctext xml:lang='C'>${text(commonName)}</loctext>`);
    x.line(depth + 1, "</common_name>");
  }
  if (manpages.length) {
    x.line(depth + 1, "<documentation>");
    for (const [, pg] of manpages) {
      const title = pg.props.title?.values[0] ?? "";
      const section = pg.props.section?.values[0] ?? "";
      x.line(depth + 2, `<manpage title='${attr(title)}' section='${attr(section)}'/>`);
    }
    x.line(depth + 1, "</documentation>");
  }
  for (const [pgName, props] of byGroup) {
    const pgType = svc.pgs[pgName]?.type ?? "application";
    x.line(depth + 1, `<pg_pattern name='${attr(pgName)}' type='${attr(pgType)}' target='this' required='false'>`);
    for (const [prop, t] of props) {
      x.line(depth + 2, `<prop_pattern name='${attr(prop)}' type='${t.type}' required='false'>`);
      x.line(depth + 3, "<description>");
      x.line(depth + 4, `<loctext xml:lang='C'>${text(t.description)}</loctext>`);
      x.line(depth + 3, "</description>");
      if (t.min !== undefined || t.max !== undefined || t.values) {
        x.line(depth + 3, "<constraints>");
        if (t.min !== undefined || t.max !== undefined) {
          const min = t.min !== undefined ? ` min='${t.min}'` : "";
          const max = t.max !== undefined ? ` max='${t.max}'` : "";
          x.line(depth + 4, `<range${min}${max}/>`);
        }
        for (const v of t.values ?? []) x.line(depth + 4, `<value name='${attr(v)}'/>`);
        x.line(depth + 3, "</constraints>");
      }
      x.line(depth + 2, "</prop_pattern>");
    }
    x.line(depth + 1, "</pg_pattern>");
  }
  x.line(depth, "</template>");
}

/** The manifest text for service `name` (e.g. "system/xvm/xend"). */
export function exportService(name: string, svc: ServiceData, templates: Record<string, Template>): string {
  const x = new Xml();
  x.lines.push("<?xml version='1.0'?>", `<!DOCTYPE service_bundle SYSTEM '${DTD}'>`);
  x.line(0, "<service_bundle type='manifest' name='export'>");
  x.line(1, `<service name='${attr(name)}' type='service' version='0'>`);
  groups(x, 2, svc.pgs, () => false);
  for (const [instName, inst] of Object.entries(svc.instances)) instance(x, 2, instName, inst);
  const stability = Object.values(svc.instances)[0]?.pgs.general?.props.entity_stability?.values[0];
  if (stability) x.line(2, `<stability value='${attr(stability)}'/>`);
  template(x, 2, svc, templates);
  x.line(1, "</service>");
  x.line(0, "</service_bundle>");
  return `${x.lines.join("\n")}\n`;
}
