/**
 * svccfg's command engine: keeps the selection and runs parsed commands against the repository,
 * printing messages by svccfg's rules (svccfg_main.c vmessage, semerr, synerr):
 *  - interactive: on stdout, no prefix, and the session goes on;
 *  - a command line: on stderr as `svccfg: <msg>`;
 *  - a file (-f, or commands piped to stdin as "<stdin>"): `svccfg (<file>, line <n>): <msg>`.
 * A semantic or syntax error outside the interactive mode stops svccfg with status 1.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { XvmError } from "../../errors.ts";
import { findMatches, fnmatch, serviceFmri } from "../fmri.ts";
import { refreshInstance } from "../refresh.ts";
import { notifyRestarter } from "../restarter-client.ts";
import { instanceFmri } from "../fmri.ts";
import { entitiesOf, type Repository } from "../repository.ts";
import { addpg, addpropvalue, delpg, delprop, delpropvalue, setprop } from "./edit.ts";
import { type Selection, resolve, selectTarget, selectionString, viewPgs } from "./entities.ts";
import { SvccfgError, msg, shown } from "./errors.ts";
import { readBundle } from "./bundle.ts";
import { applyProfile, deleteEntity, importBundle, revertTo, validateBundle, validateInstance } from "./bundle-ops.ts";
import { exportService } from "./export.ts";
import { helpText } from "./help.ts";
import { type Keyword, LexError } from "./lexer.ts";
import { formatDescribe, formatListprop, formatTemplates } from "./listing.ts";
import { type Command, parseCommand } from "./parser.ts";

export interface Output {
  write(text: string): unknown;
}

export type Mode = { kind: "interactive" } | { kind: "command" } | { kind: "file"; name: string };

/** strerror()'s words for the errors a file argument meets; anything else as Node says it. */
function errnoText(error: NodeJS.ErrnoException): string {
  const words: Record<string, string> = { ENOENT: "No such file or directory", EACCES: "Permission denied", EISDIR: "Is a directory", ENOTDIR: "Not a directory" };
  return words[error.code ?? ""] ?? shown(error.message.replace(/^\w+: /, ""));
}

/** Tells the driver to stop with this exit status. */
export class Stop {
  constructor(readonly code: number) {}
}

export class Engine {
  selection: Selection = {};
  mode: Mode = { kind: "command" };
  /** Line of the command being run, for file mode messages. */
  line = 0;

  constructor(
    readonly repo: Repository,
    private readonly stdout: Output,
    private readonly stderr: Output,
    public verbose = false,
    readonly progName = "svccfg",
  ) {}

  get interactive(): boolean {
    return this.mode.kind === "interactive";
  }

  prompt(): string {
    return `${selectionString(this.selection)}> `;
  }

  /** warn(): prints a message by the rules of the current mode. */
  message(text: string): void {
    if (this.interactive) {
      this.stdout.write(text);
      return;
    }
    const prefix = this.mode.kind === "file" ? `${this.progName} (${this.mode.name}, line ${this.line}): ` : `${this.progName}: `;
    this.stderr.write(prefix + text);
  }

  /** semerr(): message, then stop unless interactive. */
  private semerr(text: string): Stop | undefined {
    this.message(text);
    return this.interactive ? undefined : new Stop(1);
  }

  /** synerr(): the command's usage when interactive, else "Syntax error." and exit. */
  private synerr(command: Keyword): Stop | undefined {
    if (!this.interactive) return this.semerr(msg.syntax);
    this.message(helpText(command));
    return undefined;
  }

  /** Runs one assembled command; returns a Stop when svccfg must exit. */
  async run(text: string): Promise<Stop | undefined> {
    let command: Command;
    try {
      command = parseCommand(text);
    } catch (error) {
      if (!(error instanceof LexError)) throw error;
      // uu_die(): fatal in every mode.
      this.stderr.write(`${this.progName}: ${error.message}\n`);
      return new Stop(1);
    }
    try {
      return await this.execute(command);
    } catch (error) {
      if (error instanceof SvccfgError) return this.semerr(error.text);
      if (error instanceof XvmError) return this.semerr(`${error.message}\n`);
      // Anything else (a file system error nobody expected) is reported as a message: svccfg
      // never prints a stack trace.
      return this.semerr(`${shown((error as Error)?.message ?? String(error))}\n`);
    }
  }

  /** `-s FMRI` before anything else (always non-interactive messages). */
  select(target: string): void {
    const data = this.repo.view();
    this.selection = selectTarget(data, this.selection, target);
  }

  private async execute(c: Command): Promise<Stop | undefined> {
    switch (c.cmd) {
      case "empty":
        return undefined;
      case "end":
        return new Stop(0);
      case "syntax-error":
        return c.command === undefined ? this.semerr(msg.syntax) : this.synerr(c.command);
      case "unknown":
        throw new SvccfgError(msg.unknownCommand(c.word));
      case "unsupported":
        throw new SvccfgError(msg.unsupported(c.keyword));
      case "help":
        this.message(helpText(c.topic));
        return undefined;
      case "set":
        return this.set(c.args);
      case "select":
        this.selectIn(c.target);
        return undefined;
      case "unselect":
        this.unselect();
        return undefined;
      case "list":
        this.list(c.pattern);
        return undefined;
      case "listpg":
      case "listprop": {
        const pgs = viewPgs(this.repo.existing(), this.selection);
        this.stdout.write(formatListprop(pgs, c.pattern, c.cmd === "listpg"));
        return undefined;
      }
      case "describe":
        return this.describe(c.args);
      case "setprop":
        this.change((d, s) => setprop(d, s, c));
        return undefined;
      case "addpropvalue":
        this.change((d, s) => addpropvalue(d, s, c.name, c.type, c.value));
        return undefined;
      case "delpropvalue":
        this.change((d, s) => delpropvalue(d, s, c.name, c.pattern));
        return undefined;
      case "delprop":
        this.change((d, s) => delprop(d, s, c.name));
        return undefined;
      case "delpg":
        this.change((d, s) => delpg(d, s, c.name));
        return undefined;
      case "addpg":
        this.change((d, s) => addpg(d, s, c.name, c.type, c.flags));
        return undefined;
      case "export":
        this.export(c.target, c.file);
        return undefined;
      case "refresh":
        await this.refresh();
        return undefined;
      case "listsnap":
        this.listsnap();
        return undefined;
      case "selectsnap":
        this.selectsnap(c.name);
        return undefined;
      case "import":
      case "apply":
        await this.importOrApply(c.cmd, c.file, c.verbose ?? false);
        return undefined;
      case "validate":
        return this.validate(c.file);
      case "delete":
        this.delete(c.target, c.force);
        return undefined;
      case "revert":
        this.revert(c.snapshot);
        return undefined;
    }
  }

  private change(fn: (data: Parameters<typeof setprop>[0], sel: Selection) => void): void {
    this.repo.update((data) => fn(data, this.selection));
  }

  private selectIn(target: string): void {
    const data = this.repo.view();
    if (this.selection.snapshot) throw new SvccfgError("No children.\n");
    this.selection = selectTarget(data, this.selection, target);
  }

  private unselect(): void {
    const s = this.selection;
    if (s.snapshot) throw new SvccfgError(msg.noParentLevels);
    if (s.instance) this.selection = { service: s.service! };
    else if (s.service) this.selection = {};
    else throw new SvccfgError(msg.cannotUnselectScope);
  }

  private list(pattern: string | undefined): void {
    const data = this.repo.existing();
    const s = this.selection;
    const matches = (name: string) => pattern === undefined || fnmatch(pattern, name);
    if (!s.service) {
      for (const name of Object.keys(data.services)) if (matches(name)) this.stdout.write(`${name}\n`);
      return;
    }
    const { svc, inst } = resolve(data, s);
    this.stdout.write(":properties\n");
    if (inst) return;
    for (const name of Object.keys(svc.instances)) if (matches(name)) this.stdout.write(`${name}\n`);
  }

  private describe(args: string[]): Stop | undefined {
    let verbose = false;
    let templatesOnly = false;
    const operands: string[] = [];
    for (const a of args) {
      if (operands.length === 0 && /^-[vt]+$/.test(a)) {
        verbose ||= a.includes("v");
        templatesOnly ||= a.includes("t");
      } else if (a.startsWith("-") && operands.length === 0) {
        return this.synerr("describe");
      } else operands.push(a);
    }
    if (operands.length > 1) return this.synerr("describe");
    const data = this.repo.existing();
    const pgs = viewPgs(data, this.selection);
    const templates = data.templates[serviceFmri(this.selection.service!)] ?? {};
    if (templatesOnly) {
      this.stdout.write(formatTemplates(templates, operands[0], verbose));
      return undefined;
    }
    const commonName = pgs.tm_common_name?.props.C?.values[0];
    this.stdout.write(formatDescribe(pgs, templates, commonName, operands[0], verbose));
    return undefined;
  }

  private export(target: string, file: string | undefined): void {
    const data = this.repo.existing();
    const services = findMatches(target, entitiesOf(data)).filter((m) => m.kind === "service");
    if (services.length === 0) throw new SvccfgError(`Pattern '${shown(target)}' doesn't match any services\n`);
    const out = services
      .map((m) => exportService(m.service, data.services[m.service]!, data.templates[serviceFmri(m.service)] ?? {}))
      .join("");
    if (file === undefined) {
      this.stdout.write(out);
      return;
    }
    try {
      writeFileSync(file, out);
    } catch (error) {
      throw new SvccfgError(`Could not open "${shown(file)}": ${(error as NodeJS.ErrnoException).message.replace(/^\w+: /, "")}.\n`);
    }
  }

  private async refresh(): Promise<void> {
    const s = this.selection;
    if (!s.instance) throw new SvccfgError(msg.instanceNotSelected);
    resolve(this.repo.read(), s);
    await refreshInstance(this.repo, s.service!, s.instance);
  }

  private listsnap(): void {
    const s = this.selection;
    if (!s.instance) throw new SvccfgError(msg.instanceNotSelected);
    const { inst } = resolve(this.repo.existing(), s);
    for (const name of Object.keys(inst!.snapshots)) this.stdout.write(`${name}\n`);
  }

  private selectsnap(name: string | undefined): void {
    const s = this.selection;
    if (!s.instance) throw new SvccfgError(msg.instanceNotSelected);
    const { inst } = resolve(this.repo.view(), s);
    if (name === undefined) {
      this.selection = { service: s.service!, instance: s.instance };
      return;
    }
    if (!inst!.snapshots[name]) throw new SvccfgError(msg.noSuchSnapshot);
    this.selection = { service: s.service!, instance: s.instance, snapshot: name };
  }

  /** Reads a bundle file, bounded (a manifest is a few kilobytes). */
  private bundleText(file: string): string {
    try {
      const text = readFileSync(file === "-" ? 0 : file, "utf8");
      if (text.length > 4 * 1024 * 1024) throw new SvccfgError(`${shown(file)}: larger than 4 MiB; not a service bundle.\n`);
      return text;
    } catch (error) {
      if (error instanceof SvccfgError) throw error;
      throw new SvccfgError(`Could not open "${shown(file)}": ${errnoText(error as NodeJS.ErrnoException)}.\n`);
    }
  }

  /**
   * import: the manifest's services and instances into the repository, then each instance refreshed
   * (running snapshot taken, restarter told); apply: a profile's values and enabled flags.
   */
  private async importOrApply(kind: "import" | "apply", file: string, verbose: boolean): Promise<void> {
    const bundle = readBundle(this.bundleText(file), file);
    if (kind === "apply" && bundle.type === "manifest" && bundle.services.some((b) => Object.keys(b.templates).length > 0)) {
      // A manifest applied as a profile would overwrite every default: svccfg refuses that too.
      throw new SvccfgError(`${shown(file)} is a manifest, not a profile: use import.\n`);
    }
    const touched = this.repo.update((d) => (kind === "import" ? importBundle(d, bundle) : applyProfile(d, bundle))).result;
    for (const t of touched) {
      if (kind === "apply") await refreshInstance(this.repo, t.service, t.instance);
      else await notifyRestarter(this.repo.paths, instanceFmri(t.service, t.instance), "refresh");
    }
    if (verbose || this.verbose) this.message(`Loaded ${bundle.services.length} smf(5) service description${bundle.services.length === 1 ? "" : "s"}.\n`);
  }

  /** validate [file]: a manifest's values against the templates, or the selected instance's. */
  private validate(file: string | undefined): Stop | undefined {
    const data = this.repo.existing();
    let problems: string[];
    if (file !== undefined) {
      problems = validateBundle(data, readBundle(this.bundleText(file), file));
    } else {
      const s = this.selection;
      if (!s.instance) throw new SvccfgError(msg.instanceNotSelected);
      resolve(data, s);
      problems = validateInstance(data, s.service!, s.instance);
    }
    if (problems.length === 0) return undefined;
    for (const p of problems) this.message(p);
    return this.interactive ? undefined : new Stop(1);
  }

  private delete(target: string, force: boolean): void {
    const deleted = this.repo.update((d) => deleteEntity(d, target, force)).result;
    const s = this.selection;
    if (deleted.some((d) => d.service === s.service && (d.instance === undefined || d.instance === s.instance))) this.selection = {};
  }

  private revert(snapshot: string | undefined): void {
    const s = this.selection;
    if (!s.instance) throw new SvccfgError(msg.instanceNotSelected);
    const name = snapshot ?? s.snapshot;
    if (name === undefined) throw new SvccfgError("No snapshot selected.\n");
    this.repo.update((d) => {
      resolve(d, { service: s.service!, instance: s.instance });
      revertTo(d, s.service!, s.instance!, name);
    });
    this.selection = { service: s.service!, instance: s.instance };
  }

  /** engine_set(): no arguments shows the options; -v / -V switch verbose on / off. */
  private set(args: string[]): undefined {
    if (args.length === 0) {
      this.stdout.write(`${this.verbose ? "" : "no"}verbose\n`);
      return undefined;
    }
    for (const a of args) {
      if (!a.startsWith("-")) {
        this.message("No non-flag arguments defined.\n");
        continue;
      }
      for (const ch of a.slice(1)) {
        if (ch === "v") this.verbose = true;
        else if (ch === "V") this.verbose = false;
        else this.message(`Unknown option -${ch}.\n`);
      }
    }
    return undefined;
  }
}
