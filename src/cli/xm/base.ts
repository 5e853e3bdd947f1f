/**
 * What every `xm` command shares: errors printed as xm printed them (`Error: <message>` on stderr,
 * exit status from the error table), and the control API client (xm talks to xend through the
 * control API on var/run/xend/control.sock and nothing else).
 */
import { XvmError, errorDefinition, errorMessage } from "../../errors.ts";
import { REQUEST_TIMEOUT, connectionLost, unixJson } from "../../runtime/http-client.ts";
import { ExitSignal, XvmCommand } from "../base.ts";
import { withRestartWait } from "./daemon-wait.ts";
import type { DomainSummary } from "../../domain/types.ts";
import { usageText, xmCommandSpecs } from "./front.ts";

/** An error answered by the daemon: its code and message, as the daemon wrote them. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
    this.name = "ApiError";
  }

  get exitCode(): number {
    return errorDefinition(this.code)?.exit ?? 1;
  }
}

/**
 * Thrown for wrong arguments the command itself detects: as 3.4's OptionError, `Error: <message>`
 * on stderr, the command's usage on stdout, exit 1.
 */
export class XmUsageError extends Error {}

/** Default idle timeout of a control API call: XVM_XM_TIMEOUT seconds, else 30 s. */
export const XM_TIMEOUT_DEFAULT_S = 30;

export function xmTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const s = Number(env.XVM_XM_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : XM_TIMEOUT_DEFAULT_S * 1000;
}

export function dom(ref: string | number): string {
  return encodeURIComponent(String(ref));
}

export abstract class XmCommand extends XvmCommand {
  protected override get progName(): string {
    return "xm";
  }

  /**
   * Calls the control API. No socket (or nobody behind it) is DAEMON_NOT_RUNNING, unless the
   * repository says xend is enabled: then xm waits a few seconds for it (a restart) and, if it
   * still does not answer, says DAEMON_RESTARTING (src/cli/xm/daemon-wait.ts); no answer within
   * the idle timeout (a stopped or wedged xend) is DAEMON_NOT_ANSWERING; a connection closed before
   * the answer (xend killed meanwhile) is DAEMON_WENT_AWAY, with `ifGone` saying what may have
   * happened to the change asked for.
   */
  protected async api<T>(method: string, path: string, body?: unknown, opts: { timeoutMs?: number; ifGone?: string } = {}): Promise<T> {
    const paths = this.statePaths;
    const timeoutMs = opts.timeoutMs ?? xmTimeoutMs();
    try {
      return await withRestartWait(paths, () => unixJson<T>(paths.controlSocket, method, path, body, timeoutMs));
    } catch (error) {
      if (error instanceof XvmError) throw error;
      const e = error as NodeJS.ErrnoException & { status?: number };
      if (e.code === REQUEST_TIMEOUT) {
        throw new XvmError("DAEMON_NOT_ANSWERING", { socket: paths.controlSocket, seconds: Math.round(timeoutMs / 100) / 10 });
      }
      if (typeof e.status !== "number" && connectionLost(e)) {
        const during = opts.ifGone ?? (method === "GET" ? "" : "; the change may have been made: xm list");
        throw new XvmError("DAEMON_WENT_AWAY", { during });
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

  /**
   * `--json`: one JSON document on stdout, pretty-printed, ending in a newline. The objects are
   * the control API's (docs/xm-json.md): fields may be added, never renamed or removed.
   */
  protected outJson(value: unknown): void {
    this.out(`${JSON.stringify(value, null, 2)}\n`);
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
    throw new ExitSignal(code);
  }
}
