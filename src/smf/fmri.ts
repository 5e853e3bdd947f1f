/**
 * FMRIs and the ways SMF commands let you abbreviate them (scf_walk_fmri): a full FMRI
 * (`svc:/system/xvm/xend:default`, also `svc:system/xvm/xend` without the slash), trailing
 * components of the service name (`xend`, `xvm/xend`), `service:instance` (`xend:default`), a
 * bare instance name, or an fnmatch(5) pattern.
 */

export interface Entity {
  service: string; // "system/xvm/xend"
  instances: string[];
}

export type FmriMatch = { kind: "service"; service: string } | { kind: "instance"; service: string; instance: string };

export function serviceFmri(service: string): string {
  return `svc:/${service}`;
}

export function instanceFmri(service: string, instance: string): string {
  return `svc:/${service}:${instance}`;
}

export function matchFmri(m: FmriMatch): string {
  return m.kind === "service" ? serviceFmri(m.service) : instanceFmri(m.service, m.instance);
}

/** fnmatch(3) without FNM_PATHNAME: `*` and `?` also match `/`. */
export function fnmatch(pattern: string, text: string): boolean {
  return globToRegExp(pattern).test(text);
}

export function hasGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

export function globToRegExp(pattern: string): RegExp {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "\\" && i + 1 < pattern.length) re += escapeRe(pattern[++i]!);
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith("!")) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += escapeRe(c);
  }
  return new RegExp(`${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Splits `svc:/a/b:c` (or `svc:a/b`, `/a/b:c`) into service and instance; undefined if not that shape. */
export function parseFullFmri(text: string): { service: string; instance?: string } | undefined {
  let rest: string;
  if (text.startsWith("svc:")) rest = text.slice(4);
  else if (text.startsWith("/")) rest = text;
  else return undefined;
  rest = rest.replace(/^\/+/, "");
  // svc://localhost/system/... names the scope explicitly.
  if (rest.startsWith("localhost/")) rest = rest.slice("localhost/".length);
  const colon = rest.lastIndexOf(":");
  const service = colon >= 0 ? rest.slice(0, colon) : rest;
  const instance = colon >= 0 ? rest.slice(colon + 1) : undefined;
  if (!service || !/^[A-Za-z][\w.,/-]*$/.test(service) || service.endsWith("/")) return undefined;
  if (instance !== undefined && !/^[A-Za-z][\w.,-]*$/.test(instance)) return undefined;
  return { service, instance };
}

/** Every entity a pattern names: services and instances, in repository order, without duplicates. */
export function findMatches(pattern: string, entities: readonly Entity[]): FmriMatch[] {
  const out: FmriMatch[] = [];
  const full = parseFullFmri(pattern);
  if (full && !hasGlob(pattern)) {
    const e = entities.find((x) => x.service === full.service);
    if (!e) return out;
    if (full.instance === undefined) out.push({ kind: "service", service: e.service });
    else if (e.instances.includes(full.instance)) out.push({ kind: "instance", service: e.service, instance: full.instance });
    return out;
  }
  if (hasGlob(pattern)) {
    const candidates = pattern.startsWith("svc:") ? [pattern] : [`svc:/${pattern}`, `svc:/*/${pattern}`];
    const matches = (fmri: string) => candidates.some((p) => fnmatch(p, fmri));
    for (const e of entities) {
      if (matches(serviceFmri(e.service))) out.push({ kind: "service", service: e.service });
      for (const i of e.instances) if (matches(instanceFmri(e.service, i))) out.push({ kind: "instance", service: e.service, instance: i });
    }
    return out;
  }
  const colon = pattern.lastIndexOf(":");
  const svcPart = colon >= 0 ? pattern.slice(0, colon) : pattern;
  const instPart = colon >= 0 ? pattern.slice(colon + 1) : undefined;
  const serviceMatches = (service: string) => svcPart === "" || service === svcPart || service.endsWith(`/${svcPart}`);
  for (const e of entities) {
    if (instPart !== undefined) {
      if (serviceMatches(e.service) && e.instances.includes(instPart)) out.push({ kind: "instance", service: e.service, instance: instPart });
      continue;
    }
    if (serviceMatches(e.service)) out.push({ kind: "service", service: e.service });
    // A bare word also names instances of that name ("sendmail" for svc:/network/smtp:sendmail).
    if (e.instances.includes(pattern)) out.push({ kind: "instance", service: e.service, instance: pattern });
  }
  return out;
}

/** The instances a pattern stands for: service matches expand to all their instances (svcadm, svcs). */
export function findInstances(pattern: string, entities: readonly Entity[]): Array<{ service: string; instance: string }> {
  const seen = new Set<string>();
  const out: Array<{ service: string; instance: string }> = [];
  for (const m of findMatches(pattern, entities)) {
    const list = m.kind === "instance" ? [m.instance] : entities.find((e) => e.service === m.service)?.instances ?? [];
    for (const instance of list) {
      const key = instanceFmri(m.service, instance);
      if (!seen.has(key)) {
        seen.add(key);
        out.push({ service: m.service, instance });
      }
    }
  }
  return out;
}
