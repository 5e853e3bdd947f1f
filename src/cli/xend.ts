/**
 * `xvm xend`: the daemon in the foreground (what the restarter runs), and small clients of a
 * running one: `xend status`, `xend stop`, `xend reload`.
 */
import { pidAlive } from "../runtime/process.ts";
import { readFileSync } from "node:fs";
import { Command, Option, type CommandClass } from "clipanion";
import { runXendDaemon } from "./xend-daemon.ts";
import type { RefreshResult } from "../daemon/control-api.ts";
import type { DaemonStatus } from "../daemon-status.ts";
import { runningDaemonPid } from "../daemon/pidfile.ts";
import { XvmError, errorMessage } from "../errors.ts";
import { unixJson } from "../runtime/http-client.ts";
import { XvmCommand } from "./base.ts";
import type { XendStartOutcome, XendStopOutcome } from "../domain/types.ts";
import { startLines, stopLines } from "../smf/restarter/domains-methods.ts";

class XendCommand extends XvmCommand {
  static override paths = [["xend"]];
  static override usage = Command.Usage({
    description: "run xend, the xVM control daemon, in the foreground",
    details: `
      Serves until SIGTERM or SIGINT (plugins are stopped in reverse order, the control socket and pid file are removed, exit 0). SIGHUP re-reads the \`running\` snapshot of the repository and hands each plugin what changed.

      Logs go to \`var/log/xen/xend.log\` (\`config/logfile\`, at \`config/loglevel\`) and \`var/log/xen/xend-debug.log\` (debug level, plus the daemon's stdout and stderr), both under the state root and rotated at 1 MiB keeping 5. Set XEND_DEBUG to also see log lines on stderr.

      Normally the restarter runs it: \`svcadm enable xend\`. Exit status: 0 after a clean stop, 1 if another xend holds the state root, 96 (SMF_EXIT_ERR_CONFIG) if the logs or the repository cannot be used.
    `,
    examples: [
      ["Run the daemon in the foreground on a scratch state root", "$0 --root /tmp/xvm xend"],
      ["Ask a running daemon for its state", "$0 xend status"],
    ],
  });

  async execute(): Promise<number> {
    return runXendDaemon(this.statePaths, this.context.stdout, this.context.stderr);
  }
}

abstract class XendClientCommand extends XvmCommand {
  protected override get progName(): string {
    return "xend";
  }

  protected async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const paths = this.statePaths;
    try {
      return await unixJson<T>(paths.controlSocket, method, path, body, 120_000);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ECONNREFUSED") {
        throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
      }
      throw error;
    }
  }
}

class XendStatusCommand extends XendClientCommand {
  static override paths = [["xend", "status"]];
  static override usage = Command.Usage({
    description: "show the state of the running xend",
    details: "Exit status 0 when xend answers (online or degraded), 1 when it does not run.",
    examples: [["Status as JSON", "$0 xend status --json"]],
  });
  json = Option.Boolean("--json", false, { description: "print the control API's answer as JSON" });

  async execute(): Promise<number> {
    const s = await this.call<DaemonStatus>("GET", "/status");
    if (this.json) {
      this.context.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `state      ${s.state}`,
      `pid        ${s.pid}`,
      `root       ${s.root}`,
      `started    ${s.startedAt}`,
      `version    ${s.version} (${s.runtime})`,
      ...s.reasons.map((r) => `reason     ${r}`),
    ];
    this.context.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  }
}

class XendReloadCommand extends XendClientCommand {
  static override paths = [["xend", "reload"]];
  static override usage = Command.Usage({
    description: "make the running xend re-read its configuration (as SIGHUP)",
    details: "Prints each property whose value in force changed. Publish edited values first with `svcadm refresh xend` or `svccfg -s xend refresh`.",
  });

  async execute(): Promise<number> {
    const r = await this.call<RefreshResult>("POST", "/refresh");
    for (const [name, { from, to }] of Object.entries(r.changes)) {
      this.context.stdout.write(`config/${name}: ${JSON.stringify(from)} -> ${JSON.stringify(to)}\n`);
    }
    this.context.stdout.write(`state ${r.state}${r.reasons.map((x) => `\n  ${x}`).join("")}\n`);
    return 0;
  }
}

class XendStopCommand extends XendClientCommand {
  static override paths = [["xend", "stop"]];
  static override usage = Command.Usage({
    description: "stop the running xend (SIGTERM) and wait until it is gone",
    details: "Under SMF, use `svcadm disable xend` instead, or the restarter starts it again.",
  });
  timeout = Option.String("--timeout", "60", { description: "seconds to wait (default 60)" });

  async execute(): Promise<number> {
    const paths = this.statePaths;
    const pid = runningDaemonPid(paths);
    if (pid === undefined) throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + Number(this.timeout) * 1000;
    while (Date.now() < deadline) {
      if (processGone(pid)) return 0;
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.fail(`xend (pid ${pid}) did not stop within ${this.timeout} s`);
  }
}

class XendDomainsCommand extends XendClientCommand {
  static override paths = [["xend", "domains"]];
  static override usage = Command.Usage({
    description: "apply the managed domains' on_xend_start or on_xend_stop now (the methods of svc:/system/xvm/domains)",
    details: `
      \`start\` starts the inactive managed domains marked on_xend_start = start (resuming one that has a checkpoint, as after on_xend_stop = suspend); \`stop\` applies each running domain's on_xend_stop: shutdown (and wait, up to --timeout seconds), suspend (into var/lib/xend/domains/<uuid>/), or ignore. One line per domain; exit status 1 if one of them failed.

      Under SMF the restarter runs these itself, as the start and stop methods of svc:/system/xvm/domains:default: \`svcadm disable domains\` runs the stop, \`svcadm enable domains\` the start. A daemon no restarter runs applies them itself when it starts and stops.
    `,
    examples: [
      ["Start the on_xend_start domains", "$0 xend domains start"],
      ["Shut down or suspend the running domains as on_xend_stop says", "$0 xend domains stop --timeout 120"],
    ],
  });
  action = Option.String({ required: true, name: "start|stop" });
  timeout = Option.String("--timeout", "60", { description: "stop: seconds to wait for domains shut down (default 60)" });

  async execute(): Promise<number> {
    if (this.action === "start") {
      const r = await this.call<{ domains: XendStartOutcome[] }>("POST", "/domains/on-xend-start", {});
      for (const line of startLines(r.domains)) this.context.stdout.write(`${line}\n`);
      return r.domains.some((d) => d.error !== undefined) ? 1 : 0;
    }
    if (this.action === "stop") {
      const timeout = Number(this.timeout);
      if (!Number.isInteger(timeout) || timeout < 0 || timeout > 3600) return this.fail(`--timeout must be a number of seconds from 0 to 3600, not '${this.timeout}'`);
      const r = await this.call<{ domains: XendStopOutcome[] }>("POST", "/domains/on-xend-stop", { timeout });
      for (const line of stopLines(r.domains)) this.context.stdout.write(`${line}\n`);
      return r.domains.some((d) => d.error !== undefined) ? 1 : 0;
    }
    return this.fail(`'${this.action}' is not start or stop`);
  }
}

/** Gone, or a zombie its parent has not reaped yet (it has released everything it held). */
function processGone(pid: number): boolean {
  return !pidAlive(pid);
}

export const commands: CommandClass[] = [XendCommand, XendStatusCommand, XendReloadCommand, XendStopCommand, XendDomainsCommand];
