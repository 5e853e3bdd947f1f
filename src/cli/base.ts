/**
 * Shared pieces of every xvm command: error reporting as `<command>: <message>` on stderr with the
 * documented exit status, and the state root.
 */
import { Command, Option, type CommandClass } from "clipanion";
import { XvmError, errorMessage } from "../errors.ts";
import { Paths } from "../paths.ts";

export abstract class XvmCommand extends Command {
  /** The name used in error messages (`svcadm: …`). */
  protected get progName(): string {
    return this.path[0] ?? "xvm";
  }

  protected get statePaths(): Paths {
    return new Paths();
  }

  protected fail(message: string, exitCode = 1): number {
    this.context.stderr.write(`${this.progName}: ${message}${message.endsWith("\n") ? "" : "\n"}`);
    return exitCode;
  }

  override async catch(error: unknown): Promise<void> {
    if (error instanceof XvmError) {
      this.context.stderr.write(`${this.progName}: ${error.message}\n`);
      throw new ExitSignal(error.exitCode);
    }
    throw error;
  }
}

/**
 * An SMF command that reads its command line itself, with the Solaris getopt semantics and
 * messages (src/getopt.ts), so clipanion only hands it the raw arguments; `--help` or `-h`
 * print the clipanion usage instead.
 */
export abstract class RawArgsCommand extends XvmCommand {
  args = Option.Proxy();

  /**
   * svcadm and svcs take `--help`/`-h` only standing alone (`svcs -h x` is getopt's illegal
   * option); svccfg and svcprop take them first whatever follows.
   */
  protected readonly helpStandsAlone: boolean = true;

  protected abstract run(args: string[]): Promise<number> | number;

  async execute(): Promise<number> {
    const [first] = this.args;
    if ((first === "--help" || first === "-h") && (this.args.length === 1 || !this.helpStandsAlone)) {
      this.context.stdout.write(this.cli.usage(this.constructor as CommandClass, { detailed: true }));
      return 0;
    }
    return this.run(this.args);
  }
}

/** Thrown to unwind after an error was already reported; carries the exit status. */
export class ExitSignal extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export { errorMessage };
