/**
 * Shared pieces of every xvm command: error reporting as `<command>: <message>` on stderr with the
 * documented exit status, and the state root.
 */
import { Command } from "clipanion";
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
      process.exitCode = error.exitCode;
      throw new ExitSignal(error.exitCode);
    }
    throw error;
  }
}

/** Thrown to unwind after an error was already reported; carries the exit status. */
export class ExitSignal extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

export { errorMessage };
