/**
 * svcs -x (explain.c): for each instance, its name, state and since when, the reason with its
 * knowledge-article link, the manual pages and log files to read, and the impact on dependents.
 * Without operands only the instances that are a cause of trouble are shown: maintenance,
 * disabled while enabled or while enabled dependents wait for it, offline (transitioning, or for
 * no known reason — one waiting for a dependency is not a cause: the dependency is). An offline
 * instance's reason names the dependency in its way ("Reason: Service svc:/… is disabled.").
 *
 * Three additions, for states svc.startd's own restarter never produced: a degraded state the
 * daemon itself reported gives its reasons ("Reason: Degraded by the service: …") instead of
 * "Degraded by an administrator.", a master restarter whose process is gone says so, and an
 * instance whose dependency runs outside the restarter (xend under systemd) says that daemon
 * does its work.
 */
import { firstValue, type RepoData } from "../../model.ts";
import { dependencyInstances, dependentInstances, unsatisfied, type StateOf } from "../../dependencies.ts";
import { SMF_EXIT_ERR_CONFIG, SMF_EXIT_ERR_FATAL } from "../machine.ts";
import { signalName } from "../proc.ts";
import { MASTER_RESTARTER, type InstanceView } from "./instances.ts";
import { ctimeText } from "./time.ts";

/** Solaris 10's knowledge base; svc:/system/svc/restarter:default msg/base overrides it. */
export const DEFAULT_MSGBASE = "http://sun.com/msg/";

const DC = {
  DISABLED: "SMF-8000-05", TEMPDISABLED: "SMF-8000-1S", RSTRINVALID: "SMF-8000-2A", RSTRABSENT: "SMF-8000-3P",
  UNINIT: "SMF-8000-4D", RSTRDEAD: "SMF-8000-5H", ADMINMAINT: "SMF-8000-63", SVCREQMAINT: "SMF-8000-R4",
  METHFAIL: "SMF-8000-8Q", NONE: "SMF-8000-9C", UNKNOWN: "SMF-8000-AR", STARTING: "SMF-8000-C4",
  ADMINDEGR: "SMF-8000-DX", DEPCYCLE: "SMF-8000-HP", INVALIDDEP: "SMF-8000-JA", STARTFAIL: "SMF-8000-KS",
  TOOQUICKLY: "SMF-8000-L5", INVALIDSTATE: "SMF-8000-N3", TRANSITION: "SMF-8000-PH",
} as const;

export function msgBase(data: RepoData): string | undefined {
  const inst = data.services["system/svc/restarter"]?.instances.default;
  const base = inst ? firstValue(inst.pgs, "msg", "base") : undefined;
  return base ?? DEFAULT_MSGBASE;
}

const running = (v: InstanceView) => v.state === "online" || v.state === "degraded";

const enabled = (v: InstanceView) => (v.enabledTemp ?? v.enabledPerm) === true;

/** The state svcs shows for each instance, as the dependency rules read it. */
function stateOfViews(all: readonly InstanceView[]): StateOf {
  const by = new Map(all.map((x) => [x.fmri, x]));
  return (fmri) => {
    const x = by.get(fmri);
    return x ? { state: x.state, nextState: x.nextState || "none" } : undefined;
  };
}

/** Dependencies that keep an offline instance from starting, with the instances in the way. */
function blockers(v: InstanceView, all: readonly InstanceView[], data: RepoData): string[] {
  return unsatisfied(data, v.service, v.instance, stateOfViews(all)).flatMap((u) => u.blocking.length > 0 ? u.blocking : u.dep.entities);
}

/**
 * The enabled instances that are not running because of `v`, directly or through others
 * (explain.c's impact): those depending on it, then those depending on them.
 */
export function impacted(v: InstanceView, all: readonly InstanceView[], data: RepoData): InstanceView[] {
  const by = new Map(all.map((x) => [x.fmri, x]));
  const out: InstanceView[] = [];
  const seen = new Set<string>([v.fmri]);
  const todo = [v];
  while (todo.length > 0) {
    const cur = todo.shift()!;
    if (running(cur) && cur !== v) continue;
    for (const f of dependentInstances(data, cur.service, cur.instance)) {
      const d = by.get(f);
      if (!d || seen.has(f)) continue;
      seen.add(f);
      if (!enabled(d) || running(d)) continue;
      out.push(d);
      todo.push(d);
    }
  }
  return out;
}

/**
 * Instances svcs -x lists when given no operands (determine_causes): the root causes. An offline
 * instance waiting for a dependency is not one (the dependency is); a disabled one is when it was
 * meant to run, or when enabled instances are not running because of it.
 */
export function isCause(v: InstanceView, all: readonly InstanceView[] = [], data?: RepoData): boolean {
  if (running(v) || v.state === "uninitialized") return false;
  if (v.state === "maintenance") return true;
  if (v.state === "disabled") return enabled(v) || (data !== undefined && impacted(v, all, data).length > 0);
  if (data !== undefined && v.state === "offline" && (v.nextState === "none" || v.nextState === "") && !v.daemonDead && !v.restarterDead
    && blockers(v, all, data).length > 0) return false;
  return true;
}

/** "exited with status 1", "died on Killed (9)": the start method's end, from its wait status. */
function methodEnd(ws: number): string | undefined {
  const sig = ws & 0x7f;
  if (sig === 0) {
    const code = (ws >> 8) & 0xff;
    if (code === SMF_EXIT_ERR_CONFIG) return "exited with $SMF_EXIT_ERR_CONFIG";
    if (code === SMF_EXIT_ERR_FATAL) return "exited with $SMF_EXIT_ERR_FATAL";
    return `exited with status ${code}`;
  }
  if (sig === 0x7f) return undefined;
  const name = strsignal(sig);
  return ws & 0x80 ? `dumped core on ${name} (${sig})` : `died on ${name} (${sig})`;
}

/** strsignal(3C) texts of the signals a daemon is likely to die of. */
function strsignal(sig: number): string {
  const texts: Record<string, string> = {
    SIGHUP: "Hangup", SIGINT: "Interrupt", SIGQUIT: "Quit", SIGILL: "Illegal Instruction", SIGTRAP: "Trace/Breakpoint Trap",
    SIGABRT: "Abort", SIGBUS: "Bus Error", SIGFPE: "Arithmetic Exception", SIGKILL: "Killed", SIGSEGV: "Segmentation Fault",
    SIGPIPE: "Broken Pipe", SIGALRM: "Alarm Clock", SIGTERM: "Terminated", SIGUSR1: "User Signal 1", SIGUSR2: "User Signal 2",
  };
  return texts[signalName(sig)] ?? `Signal ${sig}`;
}

function reasons(v: InstanceView, all: readonly InstanceView[], data?: RepoData): Array<{ text: string; dc?: string }> {
  const one = (text: string, dc?: string) => [{ text, dc }];
  switch (v.state) {
    case "online":
      return [];
    case "uninitialized": {
      const r = all.find((x) => x.fmri === v.restarter);
      if (!r) return one(`Reason: Restarter "${v.restarter}" does not exist.`, DC.RSTRABSENT);
      return running(r)
        ? one(`Reason: Restarter ${v.restarter} has not initialized service state.`, DC.UNINIT)
        : one(`Reason: Restarter ${v.restarter} is not running.`, DC.RSTRDEAD);
    }
    case "disabled":
      return (v.enabledTemp !== undefined && v.enabledTemp !== v.enabledPerm)
        ? one("Reason: Temporarily disabled by an administrator.", DC.TEMPDISABLED)
        : one("Reason: Disabled by an administrator.", DC.DISABLED);
    case "maintenance":
      switch (v.aux) {
        case "administrative_request": return one("Reason: Maintenance requested by an administrator.", DC.ADMINMAINT);
        case "dependency_cycle": return one("Reason: Completes a dependency cycle.", DC.DEPCYCLE);
        case "fault_threshold_reached":
        case "method_failed": {
          const end = v.waitstatus !== 0 ? methodEnd(v.waitstatus) : undefined;
          const repeatedly = v.aux === "fault_threshold_reached";
          if (end) return one(repeatedly ? `Reason: Start method failed repeatedly, last ${end}.` : `Reason: Start method ${end}.`, DC.STARTFAIL);
          return one(repeatedly ? "Reason: Method failed repeatedly." : "Reason: Method failed.", DC.METHFAIL);
        }
        case "service_request":
          return one(v.auxFmri ? `Reason: Maintenance requested by "${v.auxFmri}"` : "Reason: Maintenance requested by another service.", DC.SVCREQMAINT);
        case "invalid_dependency": return one("Reason: Has invalid dependency.", DC.INVALIDDEP);
        case "invalid_restarter": return one(`Reason: Restarter "${v.restarter}" is invalid.`, DC.RSTRINVALID);
        case "restarting_too_quickly": return one("Reason: Restarting too quickly.", DC.TOOQUICKLY);
        case "none": return one(`Reason: Restarter ${v.restarter} gave no explanation.`, DC.NONE);
        default: return one("Reason: Unknown.", DC.UNKNOWN);
      }
    case "offline": {
      if (v.nextState === "online") return one("Reason: Start method is running.", DC.STARTING);
      if (v.nextState !== "none" && v.nextState !== "") return one(`Reason: Transitioning to state ${v.nextState}.`, DC.TRANSITION);
      if (v.restarterDead) return one(`Reason: Restarter ${MASTER_RESTARTER} is not running.`, DC.RSTRDEAD);
      if (v.daemonDead) {
        const r = all.find((x) => x.fmri === v.restarter);
        const restarterDown = !r || r.restarterDead || !running(r);
        return one(`Reason: The service's process (pid ${v.startPid}) exited${restarterDown
          ? ` while its restarter ${v.restarter} was not running; the next svcadm command starts one, which restarts the service.`
          : "; its restarter is restarting it."}`, restarterDown ? DC.RSTRDEAD : DC.TRANSITION);
      }
      // Waiting for a dependency: "Reason: Service svc:/… is disabled." (explain.c's GE), per instance in the way.
      const waiting = data ? blockers(v, all, data) : [];
      if (waiting.length > 0) {
        return waiting.map((f) => {
          const x = all.find((y) => y.fmri === f);
          return x ? { text: `Reason: Service ${f} ${summary(x)}`, dc: "SMF-8000-GE" } : { text: `Reason: Dependency ${f} is absent.`, dc: "SMF-8000-E2" };
        });
      }
      // A dependency run outside the restarter (systemd, a terminal): nothing runs this instance,
      // and xend does its work itself (src/daemon/daemon.ts).
      const outside = data ? dependencyInstances(data, v.service, v.instance).map((f) => all.find((x) => x.fmri === f)).find((x) => x?.outside !== undefined) : undefined;
      if (outside) {
        const how = outside.outside === "systemd" ? "under systemd" : "started by hand";
        return one(`Reason: Its dependency ${outside.fmri} runs outside the restarter (${how}); that daemon does this service's work itself.`);
      }
      // Otherwise an offline instance waits on its restarter, or on nothing known.
      const r = all.find((x) => x.fmri === v.restarter);
      if (r && r !== v && !running(r)) {
        return one(`Reason: Service ${r.fmri} ${r.restarterDead ? "is offline." : summary(r)}`, "SMF-8000-GE");
      }
      return one("Reason: Unknown.", DC.UNKNOWN);
    }
    case "degraded":
      if (v.aux !== "administrative_request" && v.reason.length > 0) {
        return v.reason.map((r) => ({ text: `Reason: Degraded by the service: ${r}` }));
      }
      return one("Reason: Degraded by an administrator.", DC.ADMINDEGR);
    default:
      return one(`Reason: Not in valid state (${v.state}).`, DC.INVALIDSTATE);
  }
}

function summary(v: InstanceView): string {
  if (running(v)) return "is running.";
  switch (v.state) {
    case "uninitialized": return "is uninitialized.";
    case "disabled": return v.enabledTemp !== undefined && v.enabledTemp !== v.enabledPerm ? "is temporarily disabled." : "is disabled.";
    case "offline": return v.nextState === "online" ? "is starting." : "is offline.";
    case "maintenance": return "requires maintenance.";
    default: return "is in an invalid state.";
  }
}

export function explainOne(v: InstanceView, all: readonly InstanceView[], data: RepoData, verbose: boolean, zone?: string): string {
  let out = `${v.fmri} (${v.commonName ?? "?"})\n`;
  if (zone !== undefined) out += `  Zone: ${zone}\n`;
  out += ` State: ${v.state} since ${v.stime !== undefined ? ctimeText(v.stime) : ctimeText(0)}\n`;
  const base = msgBase(data);
  for (const r of reasons(v, all, data)) {
    out += `${r.text}\n`;
    if (r.dc && base !== undefined) out += `   See: ${base}${r.dc}\n`;
  }
  // Template groups (man pages, documents), from the running snapshot.
  for (const [pg, group] of Object.entries(v.running)) {
    if (group.type !== "template") continue;
    const val = (p: string) => group.props[p]?.values.length === 1 ? group.props[p]!.values[0] : undefined;
    if (pg.startsWith("tm_man_")) {
      const title = val("title");
      const section = val("section");
      if (title === undefined || section === undefined) continue;
      if (!verbose) out += `   See: ${title}(${section})\n`;
      else {
        const manpath = val("manpath");
        if (manpath !== undefined) out += `   See: man -M ${manpath === ":default" ? "/usr/share/man" : manpath} -s ${section} ${title}\n`;
      }
    } else if (pg.startsWith("tm_doc_")) {
      const uri = val("uri");
      if (uri !== undefined) out += `   See: ${uri}\n`;
    }
  }
  if (v.altLogfile) out += `   See: ${v.altLogfile}\n`;
  if (v.logfile) out += `   See: ${v.logfile}\n`;
  // explain.c's impact: the enabled dependents not running because of this one (or this one itself).
  const hit = running(v) ? [] : impacted(v, all, data);
  if (hit.length === 0) out += running(v) ? "Impact: None.\n" : "Impact: This service is not running.\n";
  else {
    const what = hit.length === 1 ? "1 dependent service is not running" : `${hit.length} dependent services are not running`;
    out += verbose ? `Impact: ${what}:\n${hit.map((h) => `        ${h.fmri}\n`).join("")}` : `Impact: ${what}.  (Use -v for list.)\n`;
  }
  return out;
}
