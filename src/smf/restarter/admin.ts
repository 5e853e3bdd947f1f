/**
 * What svcadm does once its command line is parsed: resolve each pattern to one instance (the
 * Solaris 10 svcadm walks without SCF_WALK_MULTIPLE, so a pattern naming several is an error),
 * write the request to the repository, ring the restarter, and with -s wait for the outcome by
 * watching the repository. Messages and exit codes are svcadm's.
 */
import { instanceFmri, findInstances, parseFullFmri } from "../fmri.ts";
import { dependenciesOfInstance, entityInstances, unsatisfied } from "../dependencies.ts";
import { RESTARTER_FMRI, type RepoData } from "../model.ts";
import { refreshInstance } from "../refresh.ts";
import { Repository, entitiesOf } from "../repository.ts";
import { ensureRestarter, notifyRestarter, restarterPid } from "../restarter-client.ts";
import { XvmError } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import { enabledOf, locate, readStatus, setEnabled } from "./record.ts";
import { markAction, type SvcadmRequest } from "./svcadm-args.ts";

export const EXIT_SVC_FAILURE = 3;
export const EXIT_DEP_FAILURE = 4;

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

interface Target {
  service: string;
  instance: string;
  fmri: string;
}

const WAIT_POLL_MS = 50;
const MAJOR_MILESTONES = [
  "none", "svc:/milestone/single-user:default", "svc:/milestone/multi-user:default", "svc:/milestone/multi-user-server:default",
];

export async function runSvcadm(paths: Paths, req: SvcadmRequest, io: Output): Promise<number> {
  const warn = (msg: string) => io.err(`svcadm: ${msg}\n`);
  const repo = new Repository(paths);
  if (req.cmd === "milestone") {
    // This repository has no milestone services: "all" (everything may run) already holds, and
    // the other major milestones name instances that do not exist here.
    if (req.milestone === "all") return 0;
    if (MAJOR_MILESTONES.includes(req.milestone)) {
      warn(`Pattern '${req.milestone}' doesn't match any instances`);
      return 1;
    }
    warn(`"${req.milestone}" is not a valid major milestone.`);
    return 1;
  }
  let exit = 0;
  const targets: Target[] = [];
  const data = repo.read();
  const entities = entitiesOf(data);
  for (const pattern of req.patterns) {
    const found = findInstances(pattern, entities);
    if (found.length === 0) {
      warn(`Pattern '${pattern}' doesn't match any instances`);
      exit = 1;
      continue;
    }
    if (found.length > 1) {
      warn(`Pattern '${pattern}' matches multiple instances:\n${found.map((f) => `\t${instanceFmri(f.service, f.instance)}`).join("\n")}`);
      exit = 1;
      continue;
    }
    const t = found[0]!;
    targets.push({ ...t, fmri: instanceFmri(t.service, t.instance) });
  }
  // enable -r: each instance's dependencies too, recursively (svcadm's enable_fmri_r; exclude_all
  // groups are not followed, as there the dependency must NOT run).
  if (req.cmd === "enable" && req.recursive) {
    const seen = new Set(targets.map((t) => t.fmri));
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      for (const dep of dependenciesOfInstance(data, t.service, t.instance)) {
        if (dep.grouping === "exclude_all") continue;
        for (const entity of dep.entities) {
          for (const fmri of entityInstances(data, entity)) {
            const p = parseFullFmri(fmri);
            if (!p?.instance || seen.has(fmri) || fmri === RESTARTER_FMRI) continue;
            seen.add(fmri);
            targets.push({ service: p.service, instance: p.instance, fmri });
          }
        }
      }
    }
  }
  // Refusals first: a command refused changes nothing, not even by starting a restarter.
  const accepted: Target[] = [];
  const current = repo.read();
  for (const t of targets) {
    const why = refusal(current, t);
    if (why) {
      warn(why);
      exit = 1;
    } else accepted.push(t);
  }
  if (accepted.length === 0) return exit;

  // A restarter next: when it starts on a fresh boot it drops temporary settings and pending
  // requests, which must not include the ones written below.
  const supervised = accepted.filter((t) => t.fmri !== RESTARTER_FMRI);
  if (supervised.length > 0) {
    try {
      await ensureRestarter(paths, supervised[0]!.fmri);
    } catch (error) {
      if (!(error instanceof XvmError)) throw error;
      warn(error.message);
      return 1;
    }
  }

  for (const t of accepted) {
    const code = await act(t);
    if (code !== 0) exit = code;
  }
  if (exit === 0 && (req.cmd === "enable" || req.cmd === "disable") && req.sync) {
    for (const t of accepted) {
      const code = await waitFor(t, req.cmd);
      if (code > exit) exit = code;
    }
  }
  return exit;

  /** Why svcadm refuses to act on `t` as things stand, if it does. */
  function refusal(data: RepoData, t: Target): string | undefined {
    if (req.cmd === "milestone") return undefined;
    if (t.fmri === RESTARTER_FMRI) {
      // The master restarter is not supervised by itself: only what changes nothing is allowed.
      if ((req.cmd === "enable" && !req.temporary) || req.cmd === "refresh") return undefined;
      return `Operation not supported for the master restarter '${t.fmri}'`;
    }
    const state = stateOf(data, t);
    if (req.cmd === "clear" && state !== "maintenance" && state !== "degraded") {
      return `Instance "${t.fmri}" is not in a maintenance or degraded state.`;
    }
    if (req.cmd === "mark" && req.state === "degraded" && state !== "online") return `Instance "${t.fmri}" is not online.`;
    return undefined;
  }

  /**
   * Rings the restarter; if none answered (it left because nothing was enabled, or was killed
   * between our start and now), starts one: the request is in the repository for it.
   */
  async function tell(t: Target, action: string): Promise<void> {
    if (await notifyRestarter(paths, t.fmri, action)) return;
    try {
      await ensureRestarter(paths, t.fmri);
    } catch (error) {
      if (!(error instanceof XvmError)) throw error;
      warn(error.message);
    }
  }

  async function act(t: Target): Promise<number> {
    if (t.fmri === RESTARTER_FMRI) return 0;
    switch (req.cmd) {
      case "enable":
      case "disable": {
        const value = req.cmd === "enable";
        repo.update((d) => {
          const loc = locate(d, t.service, t.instance);
          if (loc) setEnabled(loc.inst, value, req.temporary);
        });
        await tell(t, req.cmd);
        if (req.verbose) io.out(`${t.fmri} ${req.temporary ? "temporarily " : ""}${value ? "enabled" : "disabled"}.\n`);
        return 0;
      }
      case "restart":
        await tell(t, "restart");
        if (req.verbose) io.out(`Action restart set for ${t.fmri}.\n`);
        return 0;
      case "refresh":
        await refreshInstance(repo, t.service, t.instance);
        if (req.verbose) io.out(`Action refresh set for ${t.fmri}.\n`);
        return 0;
      case "clear": {
        const action = stateOf(repo.read(), t) === "degraded" ? "restore" : "maint_off";
        await tell(t, action);
        if (req.verbose) io.out(`Action ${action} set for ${t.fmri}.\n`);
        return 0;
      }
      case "mark": {
        const action = markAction(req.state, req.immediate, req.temporary);
        await tell(t, action);
        if (req.verbose) io.out(`Action ${action} set for ${t.fmri}.\n`);
        return 0;
      }
    }
    return 0;
  }

  /** svcadm -s: watch the repository until the instance gets there, or cannot. */
  async function waitFor(t: Target, cmd: "enable" | "disable"): Promise<number> {
    for (let delay = 5; ; delay = Math.min(delay * 2, WAIT_POLL_MS)) {
      const d = repo.read();
      const loc = locate(d, t.service, t.instance);
      if (!loc) return 1;
      const st = readStatus(loc.inst);
      const enabled = enabledOf(loc.inst).effective;
      if (cmd === "enable") {
        if (st.state === "maintenance") {
          warn(`Instance "${t.fmri}" is in maintenance state.`);
          return EXIT_SVC_FAILURE;
        }
        if (!enabled) {
          warn(`Instance "${t.fmri}" has been disabled by another entity.`);
          return EXIT_SVC_FAILURE;
        }
        if ((st.state === "online" || st.state === "degraded") && st.nextState === "none") return 0;
        if (st.state === "offline" && st.nextState === "none" && neverSatisfied(d, t)) {
          warn(`Instance "${t.fmri}" has unsatisfied dependencies.`);
          return EXIT_DEP_FAILURE;
        }
      } else {
        if (st.state === "maintenance") {
          warn(`Instance "${t.fmri}" is in maintenance state.`);
          return EXIT_SVC_FAILURE;
        }
        if (enabled) {
          warn(`Instance "${t.fmri}" has been enabled by another entity.`);
          return EXIT_SVC_FAILURE;
        }
        if (st.state === "disabled" && st.nextState === "none") return 0;
      }
      if (t.fmri !== RESTARTER_FMRI && !(await restarterUp(t))) {
        warn(`Restarter for instance "${t.fmri}" is unavailable.`);
        return EXIT_DEP_FAILURE;
      }
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  /** A restarter killed while we wait is started again (it picks up from the repository). */
  async function restarterUp(t: Target): Promise<boolean> {
    if (restarterPid(paths)) return true;
    try {
      await ensureRestarter(paths, t.fmri);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A dependency that cannot come up without an administrator (disabled, or in maintenance) keeps
 * the instance offline for good: svcadm enable -s stops waiting (exit 4).
 */
function neverSatisfied(data: RepoData, t: Target): boolean {
  const stateOfFmri = (fmri: string) => {
    const p = parseFullFmri(fmri);
    const loc = p?.instance ? locate(data, p.service, p.instance) : undefined;
    if (!loc) return undefined;
    const st = readStatus(loc.inst);
    // Enabled but not yet up: it may still come (not "never").
    if (st.state === "disabled" && enabledOf(loc.inst).effective) return { state: "offline", nextState: "online" };
    return { state: st.state, nextState: st.nextState };
  };
  return unsatisfied(data, t.service, t.instance, stateOfFmri).some((u) =>
    u.dep.entities.length > 0 && u.blocking.length > 0 && u.blocking.every((f) => {
      const s = stateOfFmri(f);
      return s === undefined || ((s.state === "disabled" || s.state === "maintenance") && s.nextState === "none");
    }));
}

function stateOf(data: RepoData, t: Target): string | undefined {
  const loc = locate(data, t.service, t.instance);
  return loc ? readStatus(loc.inst).state : undefined;
}
