/**
 * The multi-call entry: `xvm <command> …`, or the same binary reached through a link named after
 * one of its commands (`svcs -a` = `xvm svcs -a`).
 */
import { Builtins, Cli, type CommandClass } from "clipanion";
import { ExitSignal } from "./base.ts";
import { builtinWords, commandArgs, takeRoot } from "./command-line.ts";
import { isArea, publicAreas, registry } from "./registry.ts";
import { namePlaceholders } from "./usage-text.ts";
import { lazyStdio } from "./stdio.ts";
import { ERRORS } from "../errors.ts";
import { defaultRoot } from "../paths.ts";
import { VERSION } from "../version.ts";

export { LINK_NAMES, commandArgs, takeRoot } from "./command-line.ts";

/**
 * clipanion's Cli with xvm's conventions:
 *  - a command's `catch` reports an error itself and throws ExitSignal to set the exit status;
 *    clipanion would print that signal as an "Internal Error" on stdout and exit 1. Kept silent.
 *  - usage errors (unknown option, missing argument, no such subcommand) go to stderr and exit 2,
 *    XVM_USAGE in src/errors.ts (xm keeps xm's own: src/cli/xm/front.ts);
 *  - internal commands (`__runner`…) are never offered as "did you mean";
 *  - usage lines name their placeholders (`--port PORT`, not `--port #0`: usage-text.ts).
 */
/**
 * The commands' streams, made on first use (./stdio.ts): Bun builds process.stdout with its stream
 * machinery, which costs an `xm list` more than the rest of it; most commands only write text.
 */
const stdio = lazyStdio();

class XvmCli extends Cli {
  exitSignal: ExitSignal | undefined;
  /** Set when the command line did not parse: the run exits XVM_USAGE's status. */
  usageFailure = false;
  /** Where usage errors go. */
  stderr: { write(text: string): unknown } = { write: (text: string) => stdio.stderr.write(text) };
  /** Reports a syntax error clipanion found its own way (xm's `Error: …`); returns stdout's part. */
  syntaxError: ((error: unknown) => string | undefined) | undefined;

  override error(error: unknown, opts?: Parameters<Cli["error"]>[1]): string {
    if (error instanceof ExitSignal) {
      this.exitSignal = error;
      return "";
    }
    const own = this.syntaxError?.(error);
    if (own !== undefined) return own;
    const meta = (error as { clipanion?: { type?: string } } | null)?.clipanion;
    const text = namePlaceholders(super.error(withoutInternal(error) as Error, opts));
    if (!meta) return text;
    this.usageFailure = true;
    this.stderr.write(text);
    return "";
  }

  override usage(...args: Parameters<Cli["usage"]>): string {
    const text = namePlaceholders(super.usage(...args));
    // The general help (`xvm --help`, `xvm help`) also says where every file goes.
    return args[0] == null ? `${text}\n${stateRootHelp()}` : text;
  }
}

/** The paragraph of `xvm --help` on the state root (README, "State root"). */
export function stateRootHelp(env: NodeJS.ProcessEnv = process.env): string {
  return `State root

  Every file lives under one root: --root DIR (before or right after the command), else $XVM_ROOT,
  else / when run as root (the manual page's own places: /etc/svc/repository.db, /var/log/xen, ...),
  else $XDG_STATE_HOME/xvm (~/.local/state/xvm) for other users. \`npm start\` uses ./.state.
  Commands that only read (svcs, svcprop, svccfg listprop, xm list) never create anything there.
  Here and now: ${defaultRoot(env)}

`;
}

/** A "did you mean" error without the internal commands among its candidates. */
function withoutInternal(error: unknown): unknown {
  const e = error as { name?: string; input?: string[]; candidates?: Array<{ usage: string }>; constructor: new (input: string[], candidates: unknown[]) => unknown };
  if (e?.name !== "UnknownSyntaxError" || !Array.isArray(e.candidates)) return error;
  const kept = e.candidates.filter((c) => !/^\S+ __/.test(c.usage));
  return kept.length === e.candidates.length ? error : new e.constructor(e.input ?? [], kept);
}

export async function buildCli(first?: string, commands?: readonly CommandClass[]): Promise<XvmCli> {
  const cli = new XvmCli({ binaryLabel: "xvm", binaryName: "xvm", binaryVersion: VERSION, enableColors: false });
  for (const command of commands ?? (await registry(first))) cli.register(command);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

/** `xvm foo`: no such command. Says so on stderr with the near misses, exit 2 (XVM_USAGE). */
function unknownCommand(word: string): number {
  const near = [...publicAreas(), "help", "version"].filter((name) => name.startsWith(word) || word.startsWith(name) || editDistance(name, word) <= 2);
  const hint = near.length > 0 ? `Did you mean ${near.map((n) => `'xvm ${n}'`).join(" or ")}?\n` : "";
  stdio.stderr.write(`xvm: unknown command '${word}'\n${hint}Run 'xvm --help' for the list of commands.\n`);
  return ERRORS.XVM_USAGE.exit;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

export async function main(argv0: string | undefined, argv: readonly string[]): Promise<number> {
  return runCli(builtinWords(takeRoot(commandArgs(argv0, argv))));
}

/** Runs a command line already read by src/cli/command-line.ts. */
export async function runCli(input: readonly string[]): Promise<number> {
  let args = [...input];
  const first = args[0];
  if (first !== undefined && !first.startsWith("-") && !isArea(first)) return unknownCommand(first);
  if (first === "xm") return runXm(args);
  return runWith(await buildCli(first), args, first);
}

/**
 * xm: its own argument handling first (aliases, prefixes, 3.4's usage errors: src/cli/xm/front.ts),
 * then clipanion with the resolved subcommand alone. Registering all of xm's 40-odd commands,
 * listing their definitions and compiling clipanion's state machine of all of them cost more CPU
 * than `xm list` itself (docs/architecture.md, "Start-up"), so a command's spec is made when the
 * front asks for it.
 */
async function runXm(input: readonly string[]): Promise<number> {
  const [front, { XM_TABLE }] = await Promise.all([import("./xm/front.ts"), import("./xm/table.ts")]);
  // A built-in subcommand (named in full, by a 3.4 prefix or alias) loads its own module alone;
  // anything else (help, a listing, an external plugin's command) loads them all.
  const word = input[1];
  const named = word !== undefined && !word.startsWith("-") && word !== "help" ? front.lookup(word, new Set(XM_TABLE.keys()))?.name : undefined;
  const all = () => registry("xm", input[1]);
  // The second word decides whether external plugins' commands are needed (src/cli/registry.ts).
  const classes = named !== undefined ? [await XM_TABLE.get(named)!()] : await all();
  const byName = new Map<string, CommandClass>();
  for (const c of classes) for (const p of c.paths ?? []) if (p.length === 2 && p[0] === "xm" && !byName.has(p[1]!)) byName.set(p[1]!, c);
  const specs = new LazySpecs(byName, (c, name) => front.xmCommandSpecs(oneCommandCli(c)).get(name));
  const r = front.xmFront(input.slice(1), specs);
  if (r.stderr) stdio.stderr.write(r.stderr);
  if (r.stdout) stdio.stdout.write(r.stdout);
  if (r.exit !== undefined) return r.exit;
  const cmd = r.command;
  const only = cmd !== undefined ? byName.get(cmd) : undefined;
  const cli = only ? oneCommandCli(only, cmd!, async () => buildCli("xm", await all())) : await buildCli("xm", classes);
  if (cmd !== undefined) {
    cli.syntaxError = (error) => {
      const e = front.syntaxError(error, cmd, specs);
      if (!e) return undefined;
      stdio.stderr.write(e.stderr);
      return e.stdout;
    };
  }
  return runWith(cli, ["xm", ...r.args!], "xm");
}

/**
 * A Cli with one xm command registered. A command that runs another one (`xm create -c` attaches
 * `xm console`) through `this.cli.run` gets the full xm Cli (`full`) for it, and the exit status
 * that one's error set is carried back.
 */
function oneCommandCli(command: CommandClass, name?: string, full?: () => Promise<XvmCli>): XvmCli {
  const cli = new XvmCli({ binaryLabel: "xvm", binaryName: "xvm", binaryVersion: VERSION, enableColors: false });
  if (name !== undefined && full !== undefined) {
    type Run = (this: XvmCli, input: unknown, context: unknown) => Promise<number>;
    const own = XvmCli.prototype.run as unknown as Run;
    cli.run = (async (input: unknown, context: unknown) => {
      if (!Array.isArray(input) || (input[0] === "xm" && input[1] === name)) return own.call(cli, input, context);
      const other = await full();
      other.syntaxError = cli.syntaxError;
      const code = await own.call(other, input, context);
      cli.exitSignal ??= other.exitSignal;
      cli.usageFailure ||= other.usageFailure;
      return code;
    }) as unknown as XvmCli["run"];
  }
  cli.register(command);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

/** A map of xm's subcommand names whose values (the specs) are made on first read. */
class LazySpecs<V> extends Map<string, V> {
  constructor(private readonly classes: ReadonlyMap<string, CommandClass>, private readonly make: (c: CommandClass, name: string) => V | undefined) {
    super();
  }
  private fill(name: string): void {
    if (super.has(name)) return;
    const c = this.classes.get(name);
    const v = c ? this.make(c, name) : undefined;
    if (v !== undefined) super.set(name, v);
  }
  private fillAll(): void {
    for (const name of this.classes.keys()) this.fill(name);
  }
  override get(name: string): V | undefined {
    this.fill(name);
    return super.get(name);
  }
  override has(name: string): boolean {
    return this.classes.has(name);
  }
  override get size(): number {
    return this.classes.size;
  }
  override keys(): MapIterator<string> {
    return this.classes.keys() as MapIterator<string>;
  }
  override values(): MapIterator<V> {
    this.fillAll();
    return super.values();
  }
  override entries(): MapIterator<[string, V]> {
    this.fillAll();
    return super.entries();
  }
  override [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
  override forEach(fn: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    this.fillAll();
    super.forEach(fn, thisArg);
  }
}

async function runWith(cli: XvmCli, args: string[], first: string | undefined): Promise<number> {
  try {
    const code = await cli.run(args, stdio);
    if (cli.exitSignal) return cli.exitSignal.exitCode;
    return cli.usageFailure && first !== "xm" ? ERRORS.XVM_USAGE.exit : code;
  } catch (error) {
    if (error instanceof ExitSignal) return error.exitCode;
    stdio.stderr.write(`xvm: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return 1;
  }
}
