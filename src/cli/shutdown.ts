/**
 * `xvm shutdown`: stop everything that runs for a state root, and wait until it is gone — what
 * `npm stop` runs. Guests keep running unless `--guests` is given (they are processes of their
 * own, which a later xend re-attaches to; the command says which ones stay), except what their
 * on_xend_stop says (the domains service's stop, run before xend's). Then xend is
 * disabled with `svcadm disable -s xend` (a daemon run outside the restarter, `xvm xend` in a
 * terminal or under systemd, gets SIGTERM), and the restarter is stopped (SIGTERM).
 *
 * On a root with no repository there is nothing to stop: it says so and creates nothing.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Command, Option, type CommandClass } from "clipanion";
import { runningDaemonPid } from "../daemon/pidfile.ts";
import type { DomainSummary } from "../domain/types.ts";
import { errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";
import { unixJson } from "../runtime/http-client.ts";
import { pidAlive } from "../runtime/process.ts";
import { XEND_INSTANCE, XEND_SERVICE } from "../smf/model.ts";
import { Repository } from "../smf/repository.ts";
import { restarterPid } from "../smf/restarter-client.ts";
import { runSvcadm } from "../smf/restarter/admin.ts";
import { enabledOf, locate, setEnabled } from "../smf/restarter/record.ts";
import { XvmCommand } from "./base.ts";

const POLL_MS = 100;

class ShutdownCommand extends XvmCommand {
  static override paths = [["shutdown"]];
  static override usage = Command.Usage({
    category: "SMF",
    description: "stop xend and its restarter on the state root (and the guests with --guests), and wait",
    details: `
      What \`npm stop\` runs. In order: with \`--guests\`, every guest is asked to shut down (\`xm
      shutdown -a -w\`) and one still running after \`--timeout\` seconds is destroyed, and a stopped
      guest kept for inspection (\`on_crash = preserve\`) is destroyed; without it, guests are
      listed and left as they are (xend re-attaches to them when it starts again), but for what
      their on_xend_stop asks (shutdown, suspend), which svc:/system/xvm/domains does as xend stops.
      Then xend is disabled and stopped (\`svcadm disable -s xend\`; a daemon run outside the
      restarter gets SIGTERM), and the restarter (svc:/system/svc/restarter:default) is stopped.
      Each step is reported on stdout. The next \`svcadm enable xend\` (or \`npm start\`) starts both again.

      Exit status: 0 when nothing of the root runs any more, 1 if something did not stop in time.
    `,
    examples: [
      ["Stop xend and the restarter; guests keep running", "$0 shutdown"],
      ["Shut the guests down first", "$0 shutdown --guests"],
      ["The same on another state root", "$0 --root /tmp/xvm shutdown --guests --timeout 30"],
    ],
  });

  guests = Option.Boolean("--guests", false, { description: "shut the guests down first (destroyed if still running after the timeout)" });
  timeout = Option.String("--timeout", "60", { description: "seconds to wait for each step (default 60)" });

  async execute(): Promise<number> {
    const paths = this.statePaths;
    const say = (line: string) => this.context.stdout.write(`${line}\n`);
    const timeoutMs = Math.max(1, Number(this.timeout) || 60) * 1000;
    const repo = new Repository(paths);
    if (!repo.file.exists()) {
      say(`Nothing to stop: no repository on ${paths.root} (nothing was started there).`);
      return 0;
    }
    let ok = true;

    const listed = await guestsOf(paths);
    const guests = (listed ?? []).filter((d) => !d.flags.shutdown && !d.flags.crashed);
    // Shut down or crashed and kept (on_crash preserve): no longer running, but holding memory.
    const kept = (listed ?? []).filter((d) => d.flags.shutdown || d.flags.crashed);
    const orphans = listed === undefined ? orphanRunners(paths) : [];
    if (orphans.length > 0) {
      // Guests whose xend is gone: nobody can ask them to shut down until a xend re-attaches.
      say(`${orphans.length} guest runner${orphans.length > 1 ? "s" : ""} run${orphans.length > 1 ? "" : "s"} without xend (pid ${orphans.join(", ")}).`);
      say("  A xend re-attaches to them when it starts: svcadm enable -s xend, then xvm shutdown --guests.");
      if (this.guests) ok = false;
    }
    if (guests.length > 0 && this.guests) ok = (await this.stopGuests(paths, guests, timeoutMs, say)) && ok;
    else if (guests.length > 0) {
      say(`${guests.length} guest${guests.length > 1 ? "s" : ""} keep${guests.length > 1 ? "" : "s"} running: ${guests.map((g) => g.name).join(", ")}.`);
      say("  Stopping xend leaves guests running; xend re-attaches to them when it starts again.");
      say("  To shut them down first: xvm shutdown --guests (npm stop -- --guests).");
    }
    if (kept.length > 0 && this.guests) ok = (await this.destroyKept(paths, kept, say)) && ok;
    else if (kept.length > 0) {
      say(`${kept.length} stopped guest${kept.length > 1 ? "s are" : " is"} kept for inspection: ${kept.map((g) => `${g.name} (${g.flags.crashed ? "crashed" : "shut down"})`).join(", ")}.`);
      say("  xm destroy frees them; xvm shutdown --guests destroys them too.");
    }

    const restarter = restarterPid(paths);
    const daemon = runningDaemonPid(paths);
    const x = locate(repo.read(), XEND_SERVICE, XEND_INSTANCE);
    const enabled = x ? enabledOf(x.inst).effective : false;
    if (restarter !== undefined && (enabled || daemon !== undefined)) {
      // The restarter stops the daemon it supervises; -s waits until it is disabled.
      const code = await runSvcadm(paths, { cmd: "disable", verbose: false, sync: true, temporary: false, patterns: ["svc:/system/xvm/xend:default"] }, {
        out: (t) => this.context.stdout.write(t),
        err: (t) => this.context.stderr.write(t),
      });
      if (code !== 0) ok = false;
    } else if (enabled) {
      // No restarter runs: record the disable for the next one, which would otherwise start xend.
      repo.update((d) => {
        const loc = locate(d, XEND_SERVICE, XEND_INSTANCE);
        if (loc) setEnabled(loc.inst, false, false);
      });
    }
    // A daemon the restarter does not supervise (xvm xend in a terminal, systemd) is asked directly.
    const left = runningDaemonPid(paths);
    if (left !== undefined) {
      signal(left, "SIGTERM");
      if (!(await gone(left, timeoutMs))) {
        this.context.stderr.write(`xvm shutdown: xend (pid ${left}) did not stop within ${timeoutMs / 1000} s\n`);
        ok = false;
      }
    }
    if (daemon !== undefined && runningDaemonPid(paths) === undefined) say(`xend stopped (pid ${daemon}).`);
    else if (daemon === undefined) say("xend was not running.");

    const r = restarterPid(paths) ?? restarter;
    if (r !== undefined && pidAlive(r)) {
      signal(r, "SIGTERM");
      if (await gone(r, timeoutMs)) say(`restarter stopped (pid ${r}).`);
      else {
        this.context.stderr.write(`xvm shutdown: the restarter (pid ${r}) did not stop within ${timeoutMs / 1000} s\n`);
        ok = false;
      }
    } else if (r !== undefined) say(`restarter stopped (pid ${r}).`);
    else say("The restarter was not running.");
    return ok ? 0 : 1;
  }

  /** Stopped guests kept by their on_crash/on_poweroff action: nothing to shut down, so destroyed. */
  private async destroyKept(paths: Paths, kept: DomainSummary[], say: (l: string) => void): Promise<boolean> {
    let ok = true;
    for (const g of kept) {
      try {
        await unixJson(paths.controlSocket, "POST", `/domains/${encodeURIComponent(g.uuid)}/destroy`, {}, 30_000);
        say(`Domain ${g.name} (${g.flags.crashed ? "crashed" : "shut down"}, kept): destroyed`);
      } catch (error) {
        this.context.stderr.write(`xvm shutdown: ${g.name}: ${errorMessage(error)}\n`);
        ok = false;
      }
    }
    return ok;
  }

  /** xm shutdown -a -w, then destroy what is left after the timeout. */
  private async stopGuests(paths: Paths, guests: DomainSummary[], timeoutMs: number, say: (l: string) => void): Promise<boolean> {
    say(`Shutting down ${guests.length} guest${guests.length > 1 ? "s" : ""}: ${guests.map((g) => g.name).join(", ")}`);
    const api = <T>(method: string, path: string, body?: unknown) => unixJson<T>(paths.controlSocket, method, path, body, 30_000);
    for (const g of guests) {
      try {
        await api("POST", `/domains/${encodeURIComponent(g.uuid)}/shutdown`, { reason: "poweroff" });
      } catch (error) {
        this.context.stderr.write(`xvm shutdown: ${g.name}: ${errorMessage(error)}\n`);
      }
    }
    const pending = new Map(guests.map((g) => [g.uuid, g]));
    const deadline = Date.now() + timeoutMs;
    while (pending.size > 0 && Date.now() < deadline) {
      const now = new Map((await runningGuests(paths)).map((g) => [g.uuid, g]));
      for (const [uuid, g] of [...pending]) {
        if (!now.has(uuid)) {
          say(`Domain ${g.name} terminated`);
          pending.delete(uuid);
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, POLL_MS));
    }
    let ok = true;
    for (const g of pending.values()) {
      try {
        await api("POST", `/domains/${encodeURIComponent(g.uuid)}/destroy`, {});
        say(`Domain ${g.name} did not shut down within ${timeoutMs / 1000} s: destroyed`);
      } catch (error) {
        this.context.stderr.write(`xvm shutdown: ${g.name}: ${errorMessage(error)}\n`);
        ok = false;
      }
    }
    return ok;
  }
}

/** The guests xend has (not Domain-0, not inactive managed ones); undefined when xend does not answer. */
async function guestsOf(paths: Paths): Promise<DomainSummary[] | undefined> {
  try {
    const { domains } = await unixJson<{ domains: DomainSummary[] }>(paths.controlSocket, "GET", "/domains", undefined, 30_000);
    return domains.filter((d) => d.domid !== null && d.domid !== 0);
  } catch {
    return undefined;
  }
}

/** Guests that run (not shut down or crashed and kept); none when xend does not answer. */
async function runningGuests(paths: Paths): Promise<DomainSummary[]> {
  return ((await guestsOf(paths)) ?? []).filter((d) => !d.flags.shutdown && !d.flags.crashed);
}

/** Live guest runners of the root (one folder each under var/run/xend/domains, with its pid). */
function orphanRunners(paths: Paths): number[] {
  let names: string[];
  try {
    names = readdirSync(paths.runnersDir);
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const name of names) {
    try {
      const pid = Number.parseInt(readFileSync(join(paths.runnersDir, name, "pid"), "utf8"), 10);
      if (pid > 1 && pidAlive(pid)) pids.push(pid);
    } catch {
      // no pid file: not a runner folder, or one being set up
    }
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

async function gone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

export const commands: CommandClass[] = [ShutdownCommand];
