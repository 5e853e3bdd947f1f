/**
 * Plugin commands as xm subcommands: a declaration (src/plugin/command-contract.ts) becomes a
 * clipanion command with the declared options and arguments, so `xm help`, `xm <name> --help`,
 * xm's argument handling and errors treat it as any other subcommand. The implementation is
 * loaded only when the command runs.
 */
import { Command, Option, type CommandClass } from "clipanion";
import { XvmError } from "../../errors.ts";
import { unixJson } from "../../runtime/http-client.ts";
import type { CommandContext, CommandRun, PluginCommand } from "../../plugin/command-contract.ts";
import { ApiError, XmCommand, XmUsageError } from "./base.ts";
import { withRestartWait } from "./daemon-wait.ts";
import { ProgressLine, isTerminal, postWithProgress, type ProgressRequestError } from "./progress.ts";
import { TransferProgress } from "./transfer-progress.ts";

export function pluginCommandClass(decl: PluginCommand): CommandClass {
  const args = decl.args ?? [];
  const options = Object.entries(decl.options ?? {});
  class PluginXmCommand extends XmCommand {
    static override paths = [["xm", decl.name]];
    static override usage = Command.Usage({
      description: decl.description,
      ...(decl.details !== undefined ? { details: decl.details } : {}),
      ...(decl.examples ? { examples: decl.examples.map(([a, b]) => [a, b] as [string, string]) } : {}),
    });

    constructor() {
      super();
      // clipanion reads a command's options and arguments from its fields, in declaration order.
      const self = this as unknown as Record<string, unknown>;
      for (const [key, o] of options) {
        self[`o:${key}`] = o.kind === "boolean"
          ? Option.Boolean(o.names, false, { description: o.description })
          : Option.String(o.names, { description: o.description });
      }
      for (const a of args) self[`a:${a.name}`] = Option.String({ required: a.required !== false, name: a.name });
    }

    async execute(): Promise<number> {
      const self = this as unknown as Record<string, string | boolean | undefined>;
      const input = {
        options: Object.fromEntries(options.map(([key]) => [key, self[`o:${key}`]])),
        args: Object.fromEntries(args.map((a) => [a.name, self[`a:${a.name}`] as string | undefined])),
      };
      const paths = this.statePaths;
      const ctx: CommandContext = {
        paths,
        stdout: this.context.stdout,
        stderr: this.context.stderr,
        api: (method, path, body) => this.api(method, path, body),
        request: (method, path, body) => withRestartWait(paths, () => unixJson(paths.controlSocket, method, path, body)),
        async postWithProgress(path, body, onProgress, unfinished) {
          try {
            return await withRestartWait(paths, () => postWithProgress(paths.controlSocket, path, body, onProgress, unfinished));
          } catch (error) {
            if (error instanceof XvmError) throw error;
            const e = error as ProgressRequestError;
            if (e.code === "ENOENT" || e.code === "ECONNREFUSED") throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
            throw error;
          }
        },
        progressLine: (out, tty) => new ProgressLine(out, tty),
        transferProgress: (out, tty) => new TransferProgress(out, tty),
        isTerminal,
        usageError: (message) => new XmUsageError(message),
        apiError: (code, message, status) => new ApiError(code, message, status),
      };
      const loaded = await decl.load();
      const run: CommandRun = typeof loaded === "function" ? loaded : loaded.default;
      return (await run(input, ctx)) ?? 0;
    }
  }
  Object.defineProperty(PluginXmCommand, "name", { value: `Xm_${decl.name.replace(/-/g, "_")}` });
  return PluginXmCommand;
}
