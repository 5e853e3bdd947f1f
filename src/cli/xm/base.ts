/**
 * What every `xm` command shares: errors printed as xm printed them (`Error: <message>` on stderr,
 * exit status from the error table), and the control API client (xm talks to xend through the
 * control API on var/run/xend/control.sock and nothing else).
 */
import { ERRORS, XvmError, errorMessage, type ErrorCode } from "../../errors.ts";
import { unixJson } from "../../runtime/http-client.ts";
import { ExitSignal, XvmCommand } from "../base.ts";
import type { DomainSummary } from "../../domain/types.ts";
import { usageText, xmCommandSpecs } from "./front.ts";

/** An error answered by the daemon: its code and message, as the daemon wrote them. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
    this.name = "ApiError";
  }

  get exitCode(): number {
    return Object.hasOwn(ERRORS, this.code) ? ERRORS[this.code as ErrorCode].exit : 1;
  }
}

/**
 * Thrown for wrong arguments the command itself detects: as 3.4's OptionError, `Error: <message>`
 * on stderr, the command's usage on stdout, exit 1.
 */
export class XmUsageError extends Error {}

export function dom(ref: string | number): string {
  return encodeURIComponent(String(ref));
}

export abstract class XmCommand extends XvmCommand {
  protected override get progName(): string {
    return "xm";
  }

  /** Calls the control API; a daemon that does not answer is DAEMON_NOT_RUNNING. */
  protected async api<T>(method: string, path: string, body?: unknown, timeoutMs = 120_000): Promise<T> {
    const paths = this.statePaths;
    try {
      return await unixJson<T>(paths.controlSocket, method, path, body, timeoutMs);
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { status?: number };
      if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
        throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
      }
      if (typeof e.status === "number") throw new ApiError(e.code ?? "XVM_INTERNAL", e.message, e.status);
      throw error;
    }
  }

  protected getDomain(ref: string | number): Promise<DomainSummary> {
    return this.api<DomainSummary>("GET", `/domains/${dom(ref)}`);
  }

  protected async listDomains(state?: string): Promise<DomainSummary[]> {
    return (await this.api<{ domains: DomainSummary[] }>("GET", `/domains${state ? `?state=${encodeURIComponent(state)}` : ""}`)).domains;
  }

  protected out(text: string): void {
    this.context.stdout.write(text);
  }

  protected err(message: string): void {
    this.context.stderr.write(`Error: ${message}\n`);
  }

  override async catch(error: unknown): Promise<void> {
    let code: number | undefined;
    if (error instanceof XvmError) code = error.exitCode;
    else if (error instanceof ApiError) code = error.exitCode;
    else if (error instanceof XmUsageError) {
      code = 1;
      const name = this.path[1];
      if (name !== undefined) this.out(usageText(name, xmCommandSpecs(this.cli).get(name)));
    }
    if (code === undefined) {
      if (error instanceof ExitSignal) throw error;
      this.err(errorMessage(error));
      code = 1;
    } else {
      this.err((error as Error).message);
    }
    process.exitCode = code;
    throw new ExitSignal(code);
  }
}
