/**
 * What the entry point runs for every command line but `--version`. A command that reads its own
 * arguments (the SMF commands: src/cli/base.ts RawArgsCommand) runs straight away, without
 * clipanion's command line parser: evaluating clipanion's `Cli` builds Bun's process.stdin, stdout
 * and stderr streams and the tty module, which costs more CPU than the rest of `svcs -a`
 * (docs/architecture.md, "Start-up"). Everything else, and `--help` of any command, goes through
 * main.ts and clipanion.
 */
import type { BaseContext, CommandClass } from "clipanion";
import { ExitSignal, RawArgsCommand } from "./base.ts";
import { builtinWords, commandArgs, takeRoot } from "./command-line.ts";
import { registry } from "./registry.ts";
import { lazyStdio } from "./stdio.ts";

export async function start(argv0: string | undefined, argv: readonly string[]): Promise<number> {
  const args = builtinWords(takeRoot(commandArgs(argv0, argv)));
  const [first, ...rest] = args;
  // xm is never a raw command: loading its area to find out would cost more than xm list itself.
  const raw = first !== undefined && first !== "xm" && !first.startsWith("-") && rest[0] !== "--help" && rest[0] !== "-h" ? await rawCommand(first) : undefined;
  if (raw) return runRaw(raw, first!, rest);
  // main.ts's streams are made on first use; the real stdout, when a command needs it, ends the
  // command on a closed pipe as SIGPIPE would (./stdio.ts, ./closed-stdout.ts).
  const { runCli } = await import("./main.ts");
  return runCli(args);
}

/** The area's command if it is a single raw-arguments command. */
async function rawCommand(first: string): Promise<CommandClass | undefined> {
  const commands = await registry(first);
  const [only] = commands;
  return commands.length === 1 && only!.prototype instanceof RawArgsCommand ? only : undefined;
}

/** Runs a raw-arguments command as clipanion's Cli.run would, with streams made on demand. */
async function runRaw(commandClass: CommandClass, name: string, args: string[]): Promise<number> {
  const command = new commandClass() as RawArgsCommand;
  command.context = { env: process.env, colorDepth: 1, ...lazyStdio() } as BaseContext;
  command.path = [name];
  command.args = args;
  try {
    return await command.validateAndExecute().catch((error: unknown) => command.catch(error).then(() => 0));
  } catch (error) {
    if (error instanceof ExitSignal) return error.exitCode;
    // Anything else is a bug: reported the way clipanion reports it.
    const { buildCli } = await import("./main.ts");
    const cli = await buildCli(name);
    command.context.stdout.write(cli.error(error as Error, { colored: false, command }));
    return 1;
  }
}
