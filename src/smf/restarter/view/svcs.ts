/**
 * svcs: reads the repository (it never starts the restarter) and prints, per svcs.c, a sorted
 * listing, the -l paragraphs, -L log files or the -x explanations. Operands are walked as
 * scf_walk_fmri does with SCF_WALK_MULTIPLE: each names every instance it matches, and a pattern
 * matching none is reported ("Pattern 'foo' doesn't match any instances") with exit status 1.
 */
import { findInstances, instanceFmri, parseFullFmri } from "../../fmri.ts";
import type { RepoData } from "../../model.ts";
import { entitiesOf } from "../../repository.ts";
import { dependencyInstances, dependentInstances } from "../../dependencies.ts";
import { COLUMNS, columnIndex, headerLine, rowLine, sortViews, type Ctx } from "./columns.ts";
import { detailed, logLine, processLines } from "./detail.ts";
import { explainOne, isCause } from "./explain.ts";
import { instanceViews, listedByDefault, type InstanceView, type OutsideDaemon } from "./instances.ts";
import type { SvcsRequest } from "./svcs-args.ts";

export interface SvcsResult {
  stdout: string;
  stderr: string;
  exit: number;
}

export interface SvcsOptions {
  prog?: string;
  /** Whether the master restarter's recorded pid is a live restarter (injected by tests). */
  restarterAlive?: (pid: number) => boolean;
  /** Whether a recorded daemon pid is a live xend (injected by tests). */
  daemonAlive?: (pid: number) => boolean;
  /** A daemon of the root that the restarter did not start (systemd, by hand). */
  outside?: OutsideDaemon;
}

export function runSvcs(data: RepoData, req: SvcsRequest, now: number, opts: SvcsOptions = {}): SvcsResult {
  const prog = opts.prog ?? "svcs";
  let stdout = "";
  let stderr = req.warnings.join("");
  let exit = 0;
  const fail = (msg: string): SvcsResult => ({ stdout, stderr: `${stderr}${prog}: ${msg}\n`, exit: 1 });

  if (req.zone !== undefined && req.zone !== "global") return fail(`invalid zone '${req.zone}'`);
  const zone = req.zone;
  const views = instanceViews(data, {
    ...(opts.restarterAlive ? { restarter: opts.restarterAlive } : {}),
    ...(opts.daemonAlive ? { daemon: opts.daemonAlive } : {}),
  }, opts.outside);
  const byFmri = new Map(views.map((v) => [v.fmri, v]));

  /** The instances the operands name, in operand order, each once. */
  const walk = (operands: readonly string[]): InstanceView[] => {
    if (operands.length === 0) return views;
    const out: InstanceView[] = [];
    const seen = new Set<string>();
    const entities = entitiesOf(data);
    for (const pattern of operands) {
      const found = findInstances(pattern, entities);
      if (found.length === 0) {
        stderr += `${prog}: Pattern '${pattern}' doesn't match any instances\n`;
        exit = 1;
        continue;
      }
      for (const f of found) {
        const v = byFmri.get(instanceFmri(f.service, f.instance));
        if (v && !seen.has(v.fmri)) {
          seen.add(v.fmri);
          out.push(v);
        }
      }
    }
    return out;
  };

  switch (req.mode) {
    case "l": {
      const paragraphs = walk(req.operands).map((v) => detailed(v, data, { processes: req.processes, verbose: req.verbose, zone, stateOf: (f) => byFmri.get(f)?.state }));
      stdout += paragraphs.join("\n");
      return { stdout, stderr, exit };
    }
    case "L":
      for (const v of walk(req.operands)) stdout += logLine(v);
      return { stdout, stderr, exit };
    case "n":
      // Notification parameters: none are kept here (no FMA, no smtp/snmp notifications).
      stdout += "Notification parameters for FMA Events\n";
      walk(req.operands);
      return { stdout, stderr, exit };
    case "x": {
      const chosen = req.operands.length > 0 ? walk(req.operands) : views.filter((v) => isCause(v, views, data));
      stdout += chosen.map((v) => explainOne(v, views, data, req.verbose, zone)).join("\n");
      return { stdout, stderr, exit };
    }
    default:
      break;
  }

  // Listing modes: plain, -d (dependencies) and -D (dependents).
  let columns = req.columns;
  let sort = req.sort;
  if (columns === undefined) {
    if (sort.length === 0) {
      sort = [
        ...(req.allZones ? [{ column: columnIndex("zone"), reverse: false }] : []),
        { column: columnIndex("state"), reverse: false },
        { column: columnIndex("stime"), reverse: false },
        { column: columnIndex("fmri"), reverse: false },
      ];
    }
    columns = req.verbose
      ? (req.allZones ? "zone,state,nstate,stime,ctid,fmri" : "state,nstate,stime,ctid,fmri")
      : (req.allZones ? "zone,state,stime,fmri" : "state,stime,fmri");
  }
  if (columns === "") return fail("No columns specified.");
  const cols: number[] = [];
  for (const name of columns.split(",")) {
    const i = columnIndex(name);
    if (i < 0) return fail(`Unknown column "${name}".`);
    cols.push(i);
  }
  const ctx: Ctx = {
    now,
    zone: zone ?? "global",
    nstateShown: cols.some((i) => ["N", "SN", "NSTA", "NSTATE"].includes(COLUMNS[i]!.name)),
  };

  let chosen: InstanceView[];
  if (req.mode === "d" || req.mode === "D") {
    // -d: the instances each operand's dependency groups name (a service FMRI names all its
    // instances); -D: the instances whose dependency groups name an operand. Each once.
    const fmris = new Set<string>();
    for (const v of walk(req.operands)) {
      const related = req.mode === "d" ? dependencyInstances(data, v.service, v.instance) : dependentInstances(data, v.service, v.instance);
      for (const f of related) fmris.add(f);
    }
    chosen = [...fmris].map((f) => byFmri.get(f)).filter((v): v is InstanceView => v !== undefined);
  } else {
    const showAll = req.all || req.operands.length > 0 || req.restarters.length > 0;
    chosen = showAll ? walk(req.operands) : views.filter(listedByDefault);
    if (req.restarters.length > 0) {
      const wanted: string[] = [];
      for (const r of req.restarters) {
        const p = parseFullFmri(r);
        if (!p) return fail(`Restarter FMRI "${r}" is invalid.`);
        if (!p.instance) return fail(`Restarter FMRI "${r}" does not designate an instance.`);
        wanted.push(instanceFmri(p.service, p.instance));
      }
      chosen = chosen.filter((v) => wanted.includes(v.restarter));
    }
  }
  const lines = sortViews(chosen, sort, ctx).map((v) => rowLine(v, cols, ctx) + (req.processes ? processLines(v, now) : ""));
  if (req.header) stdout += `${headerLine(cols)}\n`;
  for (const l of lines) stdout += `${l}\n`;
  return { stdout, stderr, exit };
}
