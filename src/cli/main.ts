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
  /** Reports a syntax error clipanion found its own way (xm's `Error: …`); returns stdout's part. */
  syntaxError: ((error: unknown) => string | undefined) | undefined;

  override error(error: unknown, opts?: Parameters<Cli["error"]>[1]): string {
    if (error instanceof ExitSignal) {
      this.exitSignal = error;
      return "";
    }
    return this.syntaxError?.(error) ?? super.error(error as Error, opts);
  }
}

export async function buildCli(first?: string, second?: string): Promise<XvmCli> {
  const cli = new XvmCli({ binaryLabel: "xvm", binaryName: "xvm", binaryVersion: VERSION, enableColors: false });
  for (const command of await registry(first, second)) cli.register(command);
  cli.register(Builtins.HelpCommand);
  cli.register(Builtins.VersionCommand);
  return cli;
}

export async function main(argv0: string | undefined, argv: readonly string[]): Promise<number> {
  let args = takeRoot(commandArgs(argv0, argv));
  const cli = await buildCli(args[0], args[1]);
  if (args[0] === "xm") {
    // xm's own argument handling (aliases, prefixes, 3.4's usage errors): src/cli/xm/front.ts.
    const front = await import("./xm/front.ts");
    const specs = front.xmCommandSpecs(cli);
    const r = front.xmFront(args.slice(1), specs);
    process.stderr.write(r.stderr);
    process.stdout.write(r.stdout);
    if (r.exit !== undefined) return r.exit;
    args = ["xm", ...r.args!];
    const cmd = r.command;
    if (cmd !== undefined) {
      cli.syntaxError = (error) => {
        const e = front.syntaxError(error, cmd, specs);
        if (!e) return undefined;
        process.stderr.write(e.stderr);
        return e.stdout;
      };
    }
  }
  try {
    const code = await cli.run(args, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    return cli.exitSignal?.exitCode ?? code;
  } catch (error) {
    if (error instanceof ExitSignal) return error.exitCode;
    process.stderr.write(`xvm: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    return 1;
  }
}
