/**
 * svcadm's command line, parsed as the Solaris 10 svcadm.c does with getopt(3C): `-v` before the
 * subcommand, then the subcommand's own options (`enable -rst`, `disable -st`, `mark -It`);
 * restart, refresh and clear take no options, so a word starting with '-' there is a pattern.
 * A bad option makes getopt print "svcadm: illegal option -- x" before the usage.
 */
import { getopt as posixGetopt } from "../../getopt.ts";

export const SVCADM_USAGE = `Usage: svcadm [-v] [cmd [args ... ]]

\tsvcadm enable [-rst] <service> ...\t- enable and online service(s)
\tsvcadm disable [-st] <service> ...\t- disable and offline service(s)
\tsvcadm restart <service> ...\t\t- restart specified service(s)
\tsvcadm refresh <service> ...\t\t- re-read service configuration
\tsvcadm mark [-It] <state> <service> ...\t- set maintenance state
\tsvcadm clear <service> ...\t\t- clear maintenance state
\tsvcadm milestone [-d] <milestone>\t- advance to a service milestone

\tServices can be specified using an FMRI, abbreviation, or fnmatch(5)
\tpattern, as shown in these examples for svc:/network/smtp:sendmail

\tsvcadm <cmd> svc:/network/smtp:sendmail
\tsvcadm <cmd> network/smtp:sendmail
\tsvcadm <cmd> network/*mail
\tsvcadm <cmd> network/smtp
\tsvcadm <cmd> smtp:sendmail
\tsvcadm <cmd> smtp
\tsvcadm <cmd> sendmail
`;

export const MILESTONE_USAGE = `Usage: svcadm milestone [-d] <milestone>

\t-d\tmake the specified milestone the default for system boot

\tMilestones can be specified using an FMRI or abbreviation.
\tThe major milestones are as follows:

\tall
\tnone
\tsvc:/milestone/single-user:default
\tsvc:/milestone/multi-user:default
\tsvc:/milestone/multi-user-server:default

\tSpecify "all" to enable all services.
\tSpecify "none" to disable all services except the repository.
`;

export type SvcadmRequest =
  | { cmd: "enable"; verbose: boolean; recursive: boolean; sync: boolean; temporary: boolean; patterns: string[] }
  | { cmd: "disable"; verbose: boolean; sync: boolean; temporary: boolean; patterns: string[] }
  | { cmd: "restart" | "refresh" | "clear"; verbose: boolean; patterns: string[] }
  | { cmd: "mark"; verbose: boolean; state: "maintenance" | "degraded"; immediate: boolean; temporary: boolean; patterns: string[] }
  | { cmd: "milestone"; verbose: boolean; makeDefault: boolean; milestone: string };

/** A parse that ends the command: text for stderr and the exit status. */
export interface SvcadmExit {
  exit: number;
  stderr: string;
}

/** getopt over `args` with the option letters `letters` (none take arguments). */
export function getopt(args: readonly string[], letters: string): { opts: string[]; rest: string[]; bad?: string } {
  const g = posixGetopt(args, letters, "svcadm");
  return { opts: g.opts.map((o) => o.c), rest: g.operands, bad: g.error?.c };
}

const usage = (extra = ""): SvcadmExit => ({ exit: 2, stderr: `${extra}${SVCADM_USAGE}` });
const illegal = (c: string) => usage(`svcadm: illegal option -- ${c}\n`);

export function parseSvcadm(args: readonly string[]): SvcadmRequest | SvcadmExit {
  const main = getopt(args, "v");
  if (main.bad) return illegal(main.bad);
  const verbose = main.opts.includes("v");
  const [cmd, ...rest] = main.rest;
  if (cmd === undefined) return usage();
  switch (cmd) {
    case "enable": {
      const g = getopt(rest, "rst");
      if (g.bad) return illegal(g.bad);
      if (g.rest.length === 0) return usage();
      return {
        cmd, verbose, recursive: g.opts.includes("r"), sync: g.opts.includes("s"), temporary: g.opts.includes("t"), patterns: g.rest,
      };
    }
    case "disable": {
      const g = getopt(rest, "st");
      if (g.bad) return illegal(g.bad);
      if (g.rest.length === 0) return usage();
      return { cmd, verbose, sync: g.opts.includes("s"), temporary: g.opts.includes("t"), patterns: g.rest };
    }
    case "restart":
    case "refresh":
    case "clear":
      if (rest.length === 0) return usage();
      return { cmd, verbose, patterns: rest };
    case "mark": {
      const g = getopt(rest, "It");
      if (g.bad) return illegal(g.bad);
      if (g.rest.length < 2) return usage();
      const [state, ...patterns] = g.rest;
      const temporary = g.opts.includes("t");
      if (state === "degraded") {
        if (temporary) return { exit: 2, stderr: "svcadm: -t may not be used with degraded.\n" };
        return { cmd, verbose, state, immediate: g.opts.includes("I"), temporary, patterns };
      }
      if (state === "maintenance") return { cmd, verbose, state, immediate: g.opts.includes("I"), temporary, patterns };
      return usage();
    }
    case "milestone": {
      const g = getopt(rest, "d");
      if (g.bad) return { exit: 2, stderr: `svcadm: illegal option -- ${g.bad}\n${MILESTONE_USAGE}` };
      if (g.rest.length !== 1) return { exit: 2, stderr: MILESTONE_USAGE };
      return { cmd, verbose, makeDefault: g.opts.includes("d"), milestone: g.rest[0]! };
    }
    default:
      return usage();
  }
}

/** The restarter_actions property a `mark`/`clear` request writes. */
export function markAction(state: "maintenance" | "degraded", immediate: boolean, temporary: boolean): string {
  if (state === "degraded") return immediate ? "degrade_immediate" : "degraded";
  if (immediate) return temporary ? "maint_on_immtemp" : "maint_on_immediate";
  return temporary ? "maint_on_temporary" : "maint_on";
}
