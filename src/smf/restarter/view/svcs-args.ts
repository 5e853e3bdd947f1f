/**
 * svcs's command line, as svcs.c reads it: getopt(3C) with "aHpvno:R:s:S:dDlL?xZz:", a first
 * pass that picks the mode (-d -D -l -L -n -x, mutually exclusive) and answers -?, and a second
 * pass that checks each option against the mode. Anything wrong prints the usage on stderr and
 * exits 2; an unknown sort column is fatal (exit 1), as uu_die makes it.
 */
import { getopt } from "../../../getopt.ts";
import { COLUMNS } from "./columns.ts";

export function svcsUsage(prog = "svcs"): string {
  return `Usage: ${prog} [-aHpv] [-o col[,col ... ]] [-R restarter] [-sS col] [-Z | -z zone ]
            [<service> ...]
       ${prog} -d | -D [-Hpv] [-o col[,col ... ]] [-sS col] [-Z | -z zone ]
            [<service> ...]
       ${prog} [-l | -L] [-Z | -z zone] <service> ...
       ${prog} -x [-v] [-Z | -z zone] [<service> ...]
       ${prog} -?
`;
}

export function svcsHelp(prog = "svcs"): string {
  const cols = COLUMNS.map((c) => `\t${c.name.padEnd(6)}  ${c.description}\n`).join("");
  return `${svcsUsage(prog)}
\t-a  list all service instances rather than only those that are enabled
\t-d  list dependencies of the specified service(s)
\t-D  list dependents of the specified service(s)
\t-H  omit header line from output
\t-l  list detailed information about the specified service(s)
\t-L  list the log file associated with the specified service(s)
\t-o  list only the specified columns in the output
\t-p  list process IDs and names associated with each service
\t-R  list only those services with the specified restarter
\t-s  sort output in ascending order by the specified column(s)
\t-S  sort output in descending order by the specified column(s)
\t-v  list verbose information appropriate to the type of output
\t-x  explain the status of services that might require maintenance,
\t    or explain the status of the specified service(s)
\t-z  from global zone, show services in a specified zone
\t-Z  from global zone, show services in all zones

\tServices can be specified using an FMRI, abbreviation, or fnmatch(5)
\tpattern, as shown in these examples for svc:/network/smtp:sendmail

\t${prog} [opts] svc:/network/smtp:sendmail
\t${prog} [opts] network/smtp:sendmail
\t${prog} [opts] network/*mail
\t${prog} [opts] network/smtp
\t${prog} [opts] smtp:sendmail
\t${prog} [opts] smtp
\t${prog} [opts] sendmail

\tColumns for output or sorting can be specified using these names:

${cols}`;
}

export type SvcsMode = "list" | "d" | "D" | "l" | "L" | "n" | "x";

export interface SvcsRequest {
  mode: SvcsMode;
  all: boolean;
  header: boolean;
  processes: boolean;
  verbose: boolean;
  columns?: string;
  restarters: string[];
  /** Column indices into COLUMNS; `reverse` for -S. */
  sort: Array<{ column: number; reverse: boolean }>;
  zone?: string;
  allZones: boolean;
  operands: string[];
  /** Printed to stderr before the output ("-a ignored when used with arguments."). */
  warnings: string[];
}

export type SvcsParse = SvcsRequest | { exit: number; stdout?: string; stderr?: string };

export function parseSvcs(args: readonly string[], prog = "svcs"): SvcsParse {
  const usage = (prefix = "") => ({ exit: 2, stderr: `${prefix}${svcsUsage(prog)}` });
  const g = getopt(args, "aHpvno:R:s:S:dDlL?xZz:", prog);
  // First pass: the mode, and -? wherever it stands before an error.
  let mode: SvcsMode = "list";
  for (const o of g.opts) {
    if (o.c === "?") return { exit: 0, stdout: svcsHelp(prog) };
    if ("dDlLnx".includes(o.c)) {
      if (mode !== "list") return usage();
      mode = o.c as SvcsMode;
    }
  }
  if (g.error) return usage(g.error.message);

  const req: SvcsRequest = {
    mode, all: false, header: true, processes: false, verbose: false, restarters: [], sort: [], allZones: false,
    operands: g.operands, warnings: [],
  };
  for (const o of g.opts) {
    switch (o.c) {
      case "a":
        if (mode !== "list") return usage();
        req.all = true;
        break;
      case "H":
        if (mode === "l" || mode === "x") return usage();
        req.header = false;
        break;
      case "p":
        if (mode === "x") return usage();
        req.processes = true;
        break;
      case "v":
        req.verbose = true;
        break;
      case "o":
        if (mode === "l" || mode === "x") return usage();
        req.columns = o.arg!;
        break;
      case "R":
        if (mode !== "list") return usage();
        req.restarters.push(o.arg!);
        break;
      case "s":
      case "S": {
        if (mode !== "list") return usage();
        const column = COLUMNS.findIndex((c) => c.name.toLowerCase() === o.arg!.toLowerCase());
        if (column < 0) return { exit: 1, stderr: `${prog}: Unrecognized sort column "${o.arg}".\n` };
        req.sort.push({ column, reverse: o.c === "S" });
        break;
      }
      case "z":
        if (req.allZones) return usage();
        req.zone = o.arg!;
        break;
      case "Z":
        if (req.zone !== undefined) return usage();
        req.allZones = true;
        break;
    }
  }
  if (req.all && req.operands.length > 0) req.warnings.push(`${prog}: -a ignored when used with arguments.\n`);
  if ((mode === "l" || mode === "d" || mode === "D") && req.operands.length === 0) return usage();
  return req;
}
