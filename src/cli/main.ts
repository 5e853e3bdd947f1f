/**
 * The multi-call entry: `xvm <command> …`, or the same binary reached through a link named after
 * one of its commands (`svcs -a` = `xvm svcs -a`).
 */
import { Builtins, Cli } from "clipanion";
import { ExitSignal } from "./base.ts";
import { commandArgs, takeRoot } from "./command-line.ts";
import { registry } from "./registry.ts";
import { VERSION } from "../version.ts";

export { LINK_NAMES, commandArgs, takeRoot } from "./command-line.ts";

/**
 * A command's `catch` reports an error itself and throws ExitSignal to set the exit status; clipanion
 * would print that signal as an "Internal Error" on stdout and exit 1. Keep it silent and its status.
 */
class XvmCli extends Cli {
  exitSignal: ExitSignal | undefined;

  override error(error: unknown, opts?: Parameters<Cli["error"]>[1]): string {
    if (error instanceof ExitSignal) {
      this.exitSignal = error;
      return "";
    }
    return super.error(error as Error, opts);
  }
}

export async function buildCli(first?: string): Promise<XvmCli> {
  const cli = new XvmCli({ binaryLabel: "xvm", binaryName: "xvm", binaryVersion: VERSION, enableColors: false });
  for (const command of await registry(first)) cli.register(command);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

export async function main(argv0: string | undefined, argv: readonly string[]): Promise<number> {
  const args = takeRoot(commandArgs(argv0, argv));
  const cli = await buildCli(args[0]);
  try {
    const code = await cli.run(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    return cli.exitSignal?.exitCode ?? code;
  } catch (error) {
    if (error instanceof ExitSignal) return error.exitCode;
    process.stderr.write(`xvm: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return 1;
  }
}
