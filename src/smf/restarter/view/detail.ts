/**
 * svcs -l (print_detailed), -L (print_log) and the process lines of -p: the paragraph layout of
 * svcs.c, labels padded to 13 columns.
 */
import { escapeText } from "../../../security/log-escape.ts";
import type { RepoData } from "../../model.ts";
import { processArgs, processName, processStartMs, pidAlive } from "../../../runtime/process.ts";
import type { InstanceView } from "./instances.ts";
import { dependencyGroups } from "../../dependencies.ts";
import { instanceFmri, parseFullFmri } from "../../fmri.ts";
import { ctimeText, stimeText } from "./time.ts";

const W = 13;
const line = (label: string, value: string) => `${label.padEnd(W)}${value}\n`;

/**
 * Processes of an instance: the members of its contract, which here is the daemon it runs (or,
 * run outside the restarter, the daemon itself: systemd's or a terminal's, with no contract).
 */
export function processesOf(v: InstanceView): number[] {
  if ((v.contracts.length === 0 && v.outside === undefined) || !v.startPid) return [];
  return pidAlive(v.startPid) ? [v.startPid] : [];
}

/** The lines svcs -p appends under an instance's row. */
export function processLines(v: InstanceView, now: number): string {
  let out = "";
  for (const pid of processesOf(v).sort((a, b) => a - b)) {
    const started = processStartMs(pid) ?? v.stime ?? now;
    const name = (processName(pid) ?? "?").slice(0, 16);
    out += `\n               ${stimeText(started, now).padEnd(8)}   ${String(pid).padStart(6)} ${name}`;
  }
  return out;
}

/** A value as svcs -l -v prints it; control characters escaped (issue 13 §4). */
function quoteValue(v: string): string {
  if (!/[ \t\n"()]/.test(v)) return `${visible(v)} `;
  return `"${visible(v.replace(/["\\]/g, (c) => `\\${c}`))}"`;
}

function visible(text: string): string {
  return escapeText(text, Number.MAX_SAFE_INTEGER);
}

export interface DetailOptions {
  processes: boolean;
  verbose: boolean;
  zone?: string;
  /** The state svcs shows for an instance FMRI (for the dependency lines). */
  stateOf?: (fmri: string) => string | undefined;
}

export function detailed(v: InstanceView, data: RepoData, o: DetailOptions): string {
  let out = line("fmri", v.fmri);
  if (v.commonName !== undefined) out += line("name", v.commonName);
  if (o.zone !== undefined) out += line("zone", o.zone);
  const perm = v.enabledPerm;
  const temp = v.enabledTemp;
  if (temp !== undefined) {
    out += temp !== perm ? line("enabled", `${temp} (temporary)`) : line("enabled", String(temp));
  } else if (perm !== undefined) {
    out += line("enabled", String(perm));
  }
  if (v.hasRestarterPg) {
    if (v.state) out += line("state", v.state);
    if (v.nextState) out += line("next_state", v.nextState);
    if (v.stime !== undefined) out += line("state_time", ctimeText(v.stime));
    if (v.altLogfile) out += line("alt_logfile", v.altLogfile);
    if (v.logfile) out += line("logfile", v.logfile);
  }
  out += line("restarter", v.restarter);
  if (v.hasContractProp) out += `${"contract_id".padEnd(W)}${v.contracts.map((c) => `${c} `).join("")}\n`;
  if (o.processes && (v.contracts.length === 1 || v.outside !== undefined)) {
    for (const pid of processesOf(v)) {
      const args = processArgs(pid);
      out += `${"process".padEnd(W)}${pid}${args !== undefined ? ` ${escapeText(args, 80)}` : ""}\n`;
    }
  }
  out += dependencyLines(v, data, o.stateOf ?? (() => undefined));
  if (o.verbose) out += applicationGroups(v, data);
  return out;
}

/**
 * "dependency   require_all/restart svc:/system/xvm/xend:default (online)": one line per dependency
 * group of the running snapshot, each entity with its state — an instance's, "absent", or for a
 * service its one instance's ("multiple" when it has several), as print_detailed does.
 */
function dependencyLines(v: InstanceView, data: RepoData, stateOf: (fmri: string) => string | undefined): string {
  let out = "";
  for (const dep of dependencyGroups(v.running)) {
    const parts = dep.entities.map((e) => {
      const p = parseFullFmri(e);
      let state = "absent";
      if (!e.startsWith("svc:") && !e.startsWith("/")) state = e.startsWith("file:") ? "unknown" : "invalid";
      else if (!p) state = "invalid";
      else if (data.services[p.service]) {
        const instances = Object.keys(data.services[p.service]!.instances);
        const inst = p.instance ?? (instances.length === 1 ? instances[0] : undefined);
        if (p.instance === undefined && instances.length > 1) state = "multiple";
        else if (inst !== undefined && instances.includes(inst)) state = stateOf(instanceFmri(p.service, inst)) || "-";
      }
      return `${visible(e)} (${state})`;
    });
    out += line("dependency", `${visible(dep.grouping)}/${visible(dep.restartOn)} ${parts.join(" ")}`);
  }
  return out;
}

/** -l -v: every "application" group of the running snapshot, with the templates' descriptions. */
function applicationGroups(v: InstanceView, data: RepoData): string {
  let out = "";
  const templates = data.templates[`svc:/${v.service}`] ?? {};
  for (const [pg, group] of Object.entries(v.running)) {
    if (group.type !== "application") continue;
    out += `${pg} (application)\n`;
    for (const [name, prop] of Object.entries(group.props)) {
      out += `${pg}/${name} (${prop.type}) = ${prop.values.map(quoteValue).join("")}\n`;
      const desc = templates[`${pg}/${name}`]?.description;
      if (desc) out += `  ${visible(desc)}\n`;
    }
  }
  return out;
}

/** svcs -L: the log file, when the restarter recorded one. */
export function logLine(v: InstanceView): string {
  return v.logfile ? `${v.logfile}\n` : "";
}
