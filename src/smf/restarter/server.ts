/**
 * The restarter process (`xvm __restarter`, the svc.startd role): one per state root. It claims
 * the pid file under the repository lock (so two racing svcadm commands end with one restarter),
 * decides whether this is a fresh boot, takes over the xend instance and its dependent
 * svc:/system/xvm/domains (a transient service: transient.ts; xend's SIGTERM waits for its stop),
 * then serves a small API on the restarter socket. The repository is the source of truth: svcadm writes general/enabled,
 * general_ovr/enabled and restarter_actions/* there, and the socket is only the doorbell; the
 * repository is also polled, so a change nobody rang for is still seen.
 *
 * Fresh boot: the restarter starts and no daemon of this root is alive (or the machine's boot id
 * changed since the last restarter recorded it). Then, as at a reboot, the nonpersistent groups go
 * — temporary enables and disables (general_ovr), temporary maintenance, pending requests — and
 * the instance is brought up from its persistent settings. A restarter that starts while the
 * daemon still runs (the previous restarter was killed) keeps everything and adopts the daemon.
 */
import { setDaemonUmask } from "../../runtime/umask.ts";
import { statSync, rmSync } from "node:fs";
import { appendRotating } from "../../runtime/rotating-file.ts";
import type { Paths } from "../../paths.ts";
import type { ServerHandle } from "../../server-handle.ts";
import { writeFileAtomic } from "../../runtime/atomic-write.ts";
import { serve } from "../../runtime/serve.ts";
import { selfCommand } from "../../runtime/self.ts";
import { VERSION } from "../../version.ts";
import {
  DOMAINS_INSTANCE, DOMAINS_SERVICE, RESTARTER_SERVICE, XEND_INSTANCE, XEND_SERVICE, firstValue, setProp, type RepoData,
} from "../model.ts";
import { dependenciesSatisfied } from "../dependencies.ts";
import { upgradeDomainsService } from "../domains-service.ts";
import { domainsMethods } from "./domains-methods.ts";
import { TransientSupervisor } from "./transient.ts";
import { Repository } from "../repository.ts";
import { bootId, isProcessOf, readPidFile } from "../../runtime/process.ts";
import { ACTIONS_PG, enabledOf, forgetNonpersistent, locate, readStatus } from "./record.ts";
import { Supervisor, markRestarter } from "./supervisor.ts";
import { clockTime, MONTHS } from "./svclog.ts";
import { dropRestarterJitEnv } from "./jit.ts";

export const RESTARTER_MARKER = "__restarter";
const REPO_POLL_MS = 500;
const IDLE_CHECK_MS = 250;
const IDLE_GRACE_MS = 2_000;

export interface RestarterInfo {
  pid: number;
  root: string;
  version: string;
  startedAt: string;
  fresh: boolean;
  instances: Record<string, { state: string; next_state: string; pid?: number }>;
}

/** Where say() writes: svc.startd.log through the rotating writer (set by runRestarter). */
let ownLog: string | undefined;

/** svc.startd.log style: "Sep  4 10:12:01/1: message". */
function say(message: string): void {
  const d = new Date();
  const line = `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${clockTime(d)}/${process.pid}: ${message}\n`;
  if (!ownLog || !appendRotating(ownLog, line, { who: "svc.startd" })) process.stderr.write(line);
}


/** Claims the restarter pid file; false if another live restarter holds it. */
export function claimPidFile(repo: Repository, paths: Paths): boolean {
  return repo.file.withLock(() => {
    const holder = readPidFile(paths.restarterPidFile);
    if (holder && holder !== process.pid && isProcessOf(holder, RESTARTER_MARKER)) return false;
    writeFileAtomic(paths.restarterPidFile, `${process.pid}\n`, { mode: 0o644 });
    return true;
  });
}

export async function runRestarter(paths: Paths): Promise<number> {
  dropRestarterJitEnv();
  setDaemonUmask();
  ownLog = paths.restarterLog;
  const repo = new Repository(paths);
  repo.read();
  if (!claimPidFile(repo, paths)) {
    say("another restarter runs for this root; exiting");
    return 0;
  }
  const startedAt = Date.now();
  const boot = bootId();
  const daemonPid = readPidFile(paths.pidFile);
  const daemonAlive = daemonPid !== undefined && isProcessOf(daemonPid, "xend");
  let fresh = !daemonAlive;
  repo.update((d) => {
    const r = d.services[RESTARTER_SERVICE]?.instances.default;
    const recorded = r ? firstValue(r.pgs, "restarter", "boot_id") : undefined;
    if (boot && recorded && recorded !== boot) fresh = true;
    if (r) {
      markRestarter(r, "online", process.pid, startedAt, paths.restarterLog);
      if (boot) setProp(r.pgs, "restarter", "boot_id", "astring", [boot], "framework", 1);
    }
    // A repository made before svc:/system/xvm/domains existed gains it (manifest-import).
    upgradeDomainsService(d, startedAt);
    for (const [svc, inst] of [[XEND_SERVICE, XEND_INSTANCE], [DOMAINS_SERVICE, DOMAINS_INSTANCE]]) {
      const x = locate(d, svc!, inst!);
      if (fresh && x) forgetNonpersistent(x.inst);
    }
  });
  say(`restarter started (${fresh ? "fresh boot" : `adopting xend pid ${daemonPid}`})`);

  // The companion service, if the repository has it (an administrator may have deleted it).
  let domains: TransientSupervisor | undefined;
  const stateOf = (data: RepoData) => (fmri: string) => {
    if (fmri === sup.fmri) return { state: sup.m.state, nextState: sup.m.nextState };
    if (domains && fmri === domains.fmri) return { state: domains.m.state, nextState: domains.m.nextState };
    const p = /^svc:\/(.+):([^:]+)$/.exec(fmri);
    const loc = p ? locate(data, p[1]!, p[2]!) : undefined;
    if (!loc) return undefined;
    const st = readStatus(loc.inst);
    return { state: st.state, nextState: st.nextState };
  };
  const sup: Supervisor = new Supervisor({
    paths, repo, service: XEND_SERVICE, instance: XEND_INSTANCE,
    command: [...selfCommand(), "xend"], warn: say,
    // Dependents stop before xend does, so that their stop methods still reach it.
    beforeStop: async () => {
      if (domains) await domains.settled();
    },
    onChange: () => domains?.dispatch({ type: "dependencies" }),
  });
  /** A supervisor for the companion service when the repository has it and none runs (again, after svccfg delete and import). */
  const domainsSupervisor = (): TransientSupervisor | undefined => {
    if (!locate(repo.read(), DOMAINS_SERVICE, DOMAINS_INSTANCE)) return undefined;
    const methods = domainsMethods(paths, () => sup.m.proc === "running" || sup.m.proc === "stopping");
    return new TransientSupervisor({
      paths, repo, service: DOMAINS_SERVICE, instance: DOMAINS_INSTANCE, warn: say,
      start: methods.start, stop: methods.stop,
      depsSatisfied: (data) => {
        const d = data ?? repo.read();
        return dependenciesSatisfied(d, DOMAINS_SERVICE, DOMAINS_INSTANCE, stateOf(d));
      },
    });
  };
  const pollDomains = () => {
    if (!domains || domains.deleted) {
      const next = domainsSupervisor();
      if (!next) {
        domains = undefined;
        return;
      }
      domains = next;
      domains.boot(false);
    }
    domains.poll();
  };
  domains = domainsSupervisor();
  sup.boot(fresh);
  domains?.boot(fresh);
  sup.poll();
  pollDomains();

  const info = (): RestarterInfo => {
    const data = repo.read();
    const instances: RestarterInfo["instances"] = {};
    for (const [svc, s] of Object.entries(data.services)) {
      for (const [name, inst] of Object.entries(s.instances)) {
        const st = readStatus(inst);
        instances[`svc:/${svc}:${name}`] = { state: st.state, next_state: st.nextState, pid: st.startPid };
      }
    }
    return { pid: process.pid, root: paths.root, version: VERSION, startedAt: new Date(startedAt).toISOString(), fresh, instances };
  };

  let server: ServerHandle;
  try {
    server = await serve({ unix: paths.restarterSocket }, async (req) => {
      const url = new URL(req.url, "http://restarter");
      if (req.method === "POST" && url.pathname === "/notify") {
        sup.poll();
        pollDomains();
        return Response.json({ ok: true, state: sup.m.state, next_state: sup.m.nextState });
      }
      if (req.method === "GET" && url.pathname === "/status") return Response.json(info());
      return Response.json({ code: "XVM_NOT_FOUND", message: `no route ${req.method} ${url.pathname}` }, { status: 404 });
    });
  } catch (error) {
    say(`cannot serve ${paths.restarterSocket}: ${(error as Error).message}`);
    sup.close();
    return 1;
  }

  let lastStamp = "";
  const stamp = () => {
    try {
      const st = statSync(paths.repository);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return "";
    }
  };
  lastStamp = stamp();
  const poller = setInterval(() => {
    const now = stamp();
    if (now === lastStamp) return;
    lastStamp = now;
    try {
      sup.poll();
      pollDomains();
    } catch (error) {
      say(`poll failed: ${(error as Error).message}`);
    }
    lastStamp = stamp();
  }, REPO_POLL_MS);

  return await new Promise<number>((resolve) => {
    let done = false;
    const shutdown = (why: string, marked = false) => {
      if (done) return;
      done = true;
      say(why);
      clearInterval(poller);
      clearInterval(idleTimer);
      sup.close();
      domains?.close();
      if (!marked) {
        try {
          repo.update((d) => {
            const r = d.services[RESTARTER_SERVICE]?.instances.default;
            if (r) markRestarter(r, "offline", undefined, Date.now(), paths.restarterLog);
            // Stopped on purpose: no pid file left for xend's watch to take for a killed restarter.
            if (readPidFile(paths.restarterPidFile) === process.pid) rmSync(paths.restarterPidFile, { force: true });
          });
        } catch {
          // the state is best effort on the way out
        }
      }
      void server.close().finally(() => resolve(0));
    };
    /**
     * Leaves when there is nothing to supervise (a persistently disabled instance, no daemon, no
     * request pending). Checked again under the repository lock, where the pid file is also
     * released: a svcadm that wrote a request before sees it here and this restarter stays; one
     * that writes after finds no restarter answering and starts a new one.
     */
    let idleSince: number | undefined;
    const idleExit = () => {
      if (done) return;
      if (!sup.idle() || (domains && !domains.idle())) {
        idleSince = undefined;
        return;
      }
      // Idle for a while first: the command that started this restarter sees it answer, and a
      // request following at once (svcadm disable; svcadm enable) finds it still there.
      idleSince ??= Date.now();
      if (Date.now() - idleSince < IDLE_GRACE_MS) return;
      let leave = false;
      try {
        repo.update((d) => {
          const x = locate(d, XEND_SERVICE, XEND_INSTANCE);
          if (!x || enabledOf(x.inst).effective || enabledOf(x.inst).temporary !== undefined || x.inst.pgs[ACTIONS_PG]) return;
          // The companion: no request pending, and no change of enabled it has not seen yet.
          const dm = locate(d, DOMAINS_SERVICE, DOMAINS_INSTANCE);
          if (dm && domains && (dm.inst.pgs[ACTIONS_PG] || enabledOf(dm.inst).effective !== domains.m.enabled)) return;
          if (readPidFile(paths.restarterPidFile) !== process.pid) return;
          const r = d.services[RESTARTER_SERVICE]?.instances.default;
          if (r) markRestarter(r, "offline", undefined, Date.now(), paths.restarterLog);
          rmSync(paths.restarterPidFile, { force: true });
          leave = true;
        });
      } catch (error) {
        say(`idle check failed: ${(error as Error).message}`);
        return;
      }
      if (leave) shutdown("nothing to supervise (xend disabled, not running): restarter exiting", true);
    };
    const idleTimer = setInterval(idleExit, IDLE_CHECK_MS);
    idleExit();
    process.once("SIGTERM", () => shutdown("SIGTERM: restarter exiting; the daemon keeps running"));
    process.once("SIGINT", () => shutdown("SIGINT: restarter exiting; the daemon keeps running"));
    process.on("SIGHUP", () => undefined);
  });
}
