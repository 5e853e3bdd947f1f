/**
 * `svcprop`: prints property values as SMF's svcprop does — by default an instance's `running`
 * snapshot composed with its service (what the daemon reads), `-c` the composed editing values,
 * `-C` the instance's own editing values, `-s name` another snapshot. Values are quoted for the
 * shell (blanks and metacharacters get a backslash, an empty string is `""`).
 *
 * xvm deviation (docs/smf.md): an operand naming a service that has instances stands for those
 * instances, so `svcprop -p config/dom0-cpus xend` shows the value xend runs with.
 */
import { Command, type CommandClass } from "clipanion";
import { findMatches, instanceFmri, serviceFmri } from "../smf/fmri.ts";
import { type PgMap, type RepoData, composePgs } from "../smf/model.ts";
import { Repository, entitiesOf } from "../smf/repository.ts";
import { XvmError } from "../errors.ts";
import { RawArgsCommand } from "./base.ts";
import { getopt } from "../getopt.ts";

const USAGE =
  "Usage: svcprop [-fqtv] [-C | -c | -s snapshot] [-p [name/]name]... \n" +
  "         {FMRI | pattern}...\n" +
  "       svcprop -w [-fqtv] [-p [name/]name] {FMRI | pattern}\n";

/** How often `svcprop -w` looks at the repository for a change. */
const WATCH_INTERVAL_MS = 100;

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]*(,[A-Za-z][A-Za-z0-9_.-]*)?$/;

interface Opts {
  quiet: boolean;
  types: boolean;
  verbose: boolean;
  fmris: boolean;
  /** "running" by default; undefined with -c/-C. */
  snapshot?: string;
  sflag: boolean;
  cflag: boolean;
  Cflag: boolean;
  /** -w: wait for the values to change, then print them. */
  wait: boolean;
  props: Array<{ pg: string; prop?: string }>;
  operands: string[];
}

/** A bad command line (exit 2): the message, then the usage unless `bare` (uu_xdie). */
class Usage extends Error {
  constructor(readonly text = "", readonly bare = false) {
    super(text);
  }
}

/** Thrown to end the run (uu_die / exit). */
class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function parseArgs(args: readonly string[]): Opts {
  const o: Opts = {
    quiet: false, types: false, verbose: false, fmris: false, snapshot: "running", sflag: false, cflag: false, Cflag: false, wait: false,
    props: [], operands: [],
  };
  // -C, -c and -s exclude each other; svcprop checks that before it reads -s's argument.
  const exclusive = (c: string): void => {
    if ((c === "C" && (o.cflag || o.sflag)) || (c === "c" && (o.Cflag || o.sflag)) || (c === "s" && (o.Cflag || o.cflag))) {
      throw new Usage();
    }
  };
  const g = getopt(args, "Ccfp:qs:tvw", "svcprop");
  for (const { c, arg } of g.opts) {
    exclusive(c);
    switch (c) {
      case "C":
        o.Cflag = true;
        o.snapshot = undefined;
        break;
      case "c":
        o.cflag = true;
        o.snapshot = undefined;
        break;
      case "f":
        o.types = true;
        o.fmris = true;
        break;
      case "p":
        addProp(o, arg!);
        break;
      case "q":
        o.quiet = true;
        break;
      case "s":
        o.snapshot = arg;
        o.sflag = true;
        break;
      case "t":
        o.types = true;
        break;
      case "v":
        o.verbose = true;
        break;
      case "w":
        o.wait = true;
        break;
    }
  }
  if (g.error) {
    if (g.error.missingArgument) exclusive(g.error.c);
    throw new Usage(g.error.message);
  }
  o.operands = g.operands;
  if (o.operands.length === 0) throw new Usage();
  // -w watches one entity's running values (svcprop.c: one operand, no -c/-C/-s, at most one -p).
  if (o.wait && (o.operands.length > 1 || o.cflag || o.Cflag || o.sflag || o.props.length > 1)) throw new Usage();
  return o;
}

function addProp(o: Opts, arg: string): void {
  const parts = arg.split("/");
  if (parts.length > 2) throw new Usage(`svcprop: -p argument \`${arg}' has too many components.\n`);
  for (const p of parts) if (!NAME_RE.test(p)) throw new Usage(`svcprop: Invalid component name \`${p}'.\n`, true);
  const last = o.props[o.props.length - 1];
  // Mixed pg and pg/prop arguments: show types so pg and property lines look alike.
  if (last && (last.prop === undefined) !== (parts[1] === undefined)) o.types = true;
  o.props.push(parts[1] === undefined ? { pg: parts[0]! } : { pg: parts[0]!, prop: parts[1] });
}

/** quote_for_shell(): a backslash before each Bourne shell metacharacter; "" for the empty string. */
export function quoteForShell(value: string): string {
  if (value === "") return '""';
  return value.replace(/[;&()|^<>\n \t\\"'`]/g, "\\$&");
}

interface Entity {
  fmri: string;
  kind: "service" | "instance";
  /** Groups to read for the options given. */
  pgs: PgMap;
  /** Current groups, for nonpersistent ones missing from a snapshot. */
  current?: PgMap;
}

class Svcprop {
  code = 0;
  constructor(private readonly o: Opts, private readonly out: (s: string) => void, private readonly err: (s: string) => void) {}

  warn(text: string): void {
    if (!this.o.quiet || this.o.verbose) this.err(`svcprop: ${text}`);
  }

  die(text: string): never {
    if (!this.o.quiet) this.err(`svcprop: ${text}`);
    throw new Exit(1);
  }

  noprop(text: string): void {
    if (this.o.quiet && !this.o.verbose) throw new Exit(1);
    this.warn(text);
    this.code = 1;
  }

  entity(data: RepoData, service: string, instance?: string): Entity {
    const svc = data.services[service]!;
    if (instance === undefined) {
      if (this.o.sflag) this.die("Only instances have snapshots.\n");
      return { fmri: serviceFmri(service), kind: "service", pgs: svc.pgs };
    }
    const inst = svc.instances[instance]!;
    const fmri = instanceFmri(service, instance);
    if (this.o.Cflag) return { fmri, kind: "instance", pgs: inst.pgs };
    const current = composePgs(svc, inst);
    if (this.o.cflag) return { fmri, kind: "instance", pgs: current };
    const snap = inst.snapshots[this.o.snapshot!];
    if (!snap) {
      if (this.o.sflag) this.die("No such snapshot.\n");
      return { fmri, kind: "instance", pgs: current };
    }
    return { fmri, kind: "instance", pgs: snap, current: this.o.sflag ? undefined : current };
  }

  displayProp(e: Entity, pg: string, name: string, values: string[], type: string): void {
    let line = "";
    if (this.o.types) line += `${this.o.fmris ? `${e.fmri}/:properties/${pg}/${name}` : `${pg}/${name}`} ${type} `;
    line += values.map(quoteForShell).join(" ");
    this.out(`${line}\n`);
  }

  displayPg(e: Entity, name: string, pgs: PgMap): void {
    this.o.types = true;
    for (const [prop, p] of Object.entries(pgs[name]!.props)) this.displayProp(e, name, prop, p.values, p.type);
  }

  /** The group as svcprop finds it: from the snapshot, or a nonpersistent one from the current values. */
  findPg(e: Entity, name: string): PgMap | undefined {
    if (e.pgs[name]) return e.pgs;
    if (e.current?.[name] && e.current[name].flags & 1) return e.current;
    return undefined;
  }

  processEntity(e: Entity): void {
    if (this.o.props.length === 0) {
      if (this.o.quiet) return;
      for (const name of Object.keys(e.pgs)) this.displayPg(e, name, e.pgs);
      for (const [name, pg] of Object.entries(e.current ?? {})) if (pg.flags & 1 && !e.pgs[name]) this.displayPg(e, name, e.current!);
      return;
    }
    for (const p of this.o.props) {
      const pgs = this.findPg(e, p.pg);
      if (!pgs) {
        this.noprop(`Couldn't find property group \`${p.pg}' for ${e.kind} \`${e.fmri}'.\n`);
        continue;
      }
      if (p.prop === undefined) {
        if (!this.o.quiet) this.displayPg(e, p.pg, pgs);
        continue;
      }
      const prop = pgs[p.pg]!.props[p.prop];
      if (!prop) {
        this.noprop(`Couldn't find property \`${p.pg}/${p.prop}' for ${e.kind} \`${e.fmri}'.\n`);
        continue;
      }
      if (!this.o.quiet) this.displayProp(e, p.pg, p.prop, prop.values, prop.type);
    }
  }

  /** An operand: FMRI or pattern, optionally with /:properties/pg[/prop]. */
  processOperand(data: RepoData, operand: string): void {
    const at = operand.indexOf("/:properties/");
    const entityPart = at >= 0 ? operand.slice(0, at) : operand;
    const propPart = at >= 0 ? operand.slice(at + "/:properties/".length) : undefined;
    const entities = entitiesOf(data);
    const targets: Array<{ service: string; instance?: string }> = [];
    const seen = new Set<string>();
    for (const m of findMatches(entityPart, entities)) {
      const insts = m.kind === "instance" ? [m.instance] : Object.keys(data.services[m.service]!.instances);
      const list: Array<{ service: string; instance?: string }> = insts.length
        ? insts.map((instance) => ({ service: m.service, instance }))
        : [{ service: m.service }];
      for (const t of list) {
        const key = `${t.service}:${t.instance ?? ""}`;
        if (!seen.has(key)) {
          seen.add(key);
          targets.push(t);
        }
      }
    }
    if (targets.length === 0) {
      this.warn(`Pattern '${operand}' doesn't match any entities\n`);
      this.code = 1;
      return;
    }
    if (targets.length > 1) this.o.types = this.o.fmris = true;
    for (const t of targets) {
      const e = this.entity(data, t.service, t.instance);
      if (propPart === undefined) {
        this.processEntity(e);
        continue;
      }
      if (this.o.props.length > 0) {
        this.err("svcprop: The -p option cannot be used with property operands.\n");
        throw new Usage();
      }
      const [pg, prop, extra] = propPart.split("/");
      const pgs = pg !== undefined ? this.findPg(e, pg) : undefined;
      const found = prop === undefined ? pgs : pgs?.[pg!]!.props[prop] ? pgs : undefined;
      if (!found || extra !== undefined) {
        this.warn(`Pattern '${operand}' doesn't match any entities\n`);
        this.code = 1;
        continue;
      }
      if (this.o.quiet) continue;
      if (prop === undefined) this.displayPg(e, pg!, found);
      else this.displayProp(e, pg!, prop, found[pg!]!.props[prop]!.values, found[pg!]!.props[prop]!.type);
    }
  }
}

export class SvcpropCommand extends RawArgsCommand {
  static override paths = [["svcprop"]];
  static override usage = Command.Usage({
    description: "retrieve values of service configuration properties",
    details: `
      Usage: \`svcprop [-fqtv] [-C | -c | -s snapshot] [-p [name/]name]... {FMRI | pattern}...\`

      Prints the values of an instance's properties as its service runs with them: the \`running\` snapshot, composed with the service's values. \`-c\` shows the composed editing values (what \`svccfg setprop\` changed, before a refresh), \`-C\` only the instance's own, \`-s\` another snapshot. \`-p\` selects a property group or property (repeatable); without it every property is printed as \`pg/name type value…\`. \`-t\` adds names and types, \`-f\` full FMRIs, \`-q\` prints nothing and reports only through the exit status (1 if a property is missing).
    `,
    examples: [
      ["The CPU count xend runs with", "$0 svcprop -p config/dom0-cpus xend"],
      ["Every property, with types", "$0 svcprop svc:/system/xvm/xend:default"],
      ["The edited value, before a refresh", "$0 svcprop -c -p config/dom0-cpus xend"],
      ["Test that a property exists", "$0 svcprop -q -p config/xend-relocation-port xend"],
      ["Wait for the next refresh to change a value, then print it", "$0 svcprop -w -p config/dom0-cpus xend"],
    ],
  });

  protected override readonly helpStandsAlone = false;

  /**
   * `-w`: what svcprop would print now is the baseline; the repository is read again every
   * WATCH_INTERVAL_MS until that text changes, and the new values are printed. A property that
   * does not exist fails at once, as without -w.
   */
  private async watch(opts: Opts, repo: Repository, out: (s: string) => void, err: (s: string) => void): Promise<number> {
    const render = (): { text: string; code: number } => {
      let text = "";
      const svcprop = new Svcprop({ ...opts, quiet: false, props: opts.props.map((p) => ({ ...p })) }, (s) => (text += s), err);
      svcprop.processOperand(repo.existing(), opts.operands[0]!);
      return { text, code: svcprop.code };
    };
    const first = render();
    if (first.code !== 0) return first.code;
    for (;;) {
      await new Promise((r) => setTimeout(r, WATCH_INTERVAL_MS));
      let now: { text: string; code: number };
      try {
        now = render();
      } catch (error) {
        // The repository is being rewritten (or was deleted): look again.
        if (error instanceof XvmError) continue;
        throw error;
      }
      if (now.text === first.text && now.code === 0) continue;
      if (!opts.quiet) out(now.text);
      return now.code;
    }
  }

  protected async run(args: string[]): Promise<number> {
    const out = (s: string) => void this.context.stdout.write(s);
    const err = (s: string) => void this.context.stderr.write(s);
    try {
      const opts = parseArgs(args);
      const repo = new Repository(this.statePaths);
      if (opts.wait) return await this.watch(opts, repo, out, err);
      const svcprop = new Svcprop(opts, out, err);
      const data = repo.existing();
      for (const operand of opts.operands) svcprop.processOperand(data, operand);
      return svcprop.code;
    } catch (error) {
      if (error instanceof Usage) {
        err(error.bare ? error.text : error.text + USAGE);
        return 2;
      }
      if (error instanceof Exit) return error.code;
      if (error instanceof XvmError) {
        err(`svcprop: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  }
}

export const commands: CommandClass[] = [SvcpropCommand];
