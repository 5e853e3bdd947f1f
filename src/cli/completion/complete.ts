/**
 * What to offer for the word being typed, from the command definitions (every command registered
 * with clipanion, a plugin's included) and, for operands, from the live system: domain names from
 * xend for xm, FMRIs and property names from the repository for svcs/svcadm/svccfg/svcprop.
 * The shell scripts (scripts.ts) only call `xvm __complete -- WORD…` and print what this returns;
 * nothing here may write to the terminal or fail loudly (a completion that errors is worse than none).
 */
import type { Definition } from "clipanion";
import { Paths } from "../../paths.ts";
import { unixJson } from "../../runtime/http-client.ts";
import { KEYWORDS } from "../../smf/svccfg/lexer.ts";
import { LINK_NAMES } from "../link-names.ts";

export interface CommandDef {
  /** Words after `xvm` (`["xm", "list"]`). */
  path: string[];
  /** Option names (`-l`, `--long`) and whether each takes a value. */
  options: Array<{ names: string[]; takesValue: boolean; description: string }>;
  /** The usage line, for the kind of operand it takes. */
  usage: string;
  description: string;
}

/** The command tree from clipanion's definitions, internal commands (`__…`) left out. */
export function commandDefs(definitions: readonly Definition[]): CommandDef[] {
  return definitions
    .map((d) => ({
      path: d.path.split(" ").slice(1),
      options: d.options.map((o) => ({ names: o.definition.split(" ")[0]!.split(","), takesValue: /\s#\d/.test(o.definition), description: o.description ?? "" })),
      usage: d.usage,
      description: d.description ?? "",
    }))
    .filter((d) => d.path.length > 0 && !d.path[0]!.startsWith("__") && !d.path[0]!.startsWith("-"));
}

/** Sources of live values; replaced in tests. */
export interface Live {
  domains(): Promise<string[]>;
  fmris(): Promise<string[]>;
  properties(fmri: string): Promise<string[]>;
}

export const liveSystem: Live = {
  async domains() {
    const r = await unixJson<{ domains: Array<{ name: string }> }>(new Paths().controlSocket, "GET", "/domains", undefined, 2000);
    return r.domains.map((d) => d.name);
  },
  async fmris() {
    const { Repository } = await import("../../smf/repository.ts");
    const { instanceFmri } = await import("../../smf/fmri.ts");
    const file = new Repository(new Paths()).file;
    const data = file.read();
    if (!data) return [];
    // Full FMRIs, and the short forms svcs and svcadm accept (`xend`, `xend:default`).
    return Object.entries(data.services).flatMap(([service, s]) => {
      const last = service.slice(service.lastIndexOf("/") + 1);
      const instances = Object.keys(s.instances);
      return [`svc:/${service}`, ...instances.map((i) => instanceFmri(service, i)), last, ...instances.map((i) => `${last}:${i}`)];
    });
  },
  async properties(fmri: string) {
    const { Repository } = await import("../../smf/repository.ts");
    const data = new Repository(new Paths()).file.read();
    if (!data) return [];
    const name = fmri.replace(/^svc:\/?/, "").replace(/:[^:/]*$/, "");
    const svc = Object.entries(data.services).find(([service]) => service === name || service.endsWith(`/${name}`))?.[1];
    if (!svc) return [];
    const groups = [svc.pgs, ...Object.values(svc.instances).map((i) => i.pgs)];
    return [...new Set(groups.flatMap((pgs) => Object.entries(pgs).flatMap(([pg, g]) => [pg, ...Object.keys(g.props).map((p) => `${pg}/${p}`)])))].sort();
  },
};

const SMF = new Set(["svcs", "svcadm", "svccfg", "svcprop"]);

/**
 * Candidates for the last of `words` (the words after `xvm`; the last one is being typed, possibly
 * empty). A link name as the program (`xm …`) is passed as its command word first.
 */
export async function complete(defs: readonly CommandDef[], words: readonly string[], live: Live = liveSystem): Promise<string[]> {
  const done = words.slice(0, -1);
  const current = words[words.length - 1] ?? "";
  const starts = (c: string) => c.startsWith(current);

  // The command reached by the words typed so far (longest matching path).
  let command: CommandDef | undefined;
  let depth = 0;
  for (const d of defs) {
    if (d.path.length <= done.length && d.path.every((w, i) => done[i] === w) && d.path.length >= depth) {
      if (d.path.length > depth || !command) command = d;
      depth = d.path.length;
    }
  }
  const rest = done.slice(depth);

  // The next word of a longer command path.
  const sub = new Set<string>();
  if (rest.length === 0) {
    for (const d of defs) if (d.path.length > depth && d.path.slice(0, depth).every((w, i) => done[i] === w)) sub.add(d.path[depth]!);
    if (depth === 0) for (const w of ["help", "version"]) sub.add(w);
  }
  if (current.startsWith("-")) {
    const opts = command?.options.flatMap((o) => o.names) ?? [];
    return [...new Set([...opts, "--help"])].filter(starts);
  }
  if (sub.size > 0) {
    const subs = [...sub].filter(starts).sort();
    if (subs.length > 0 || depth === 0) return subs;
  }
  // An option waiting for its value: nothing to offer (the shell may complete files).
  const prev = done[done.length - 1];
  const prevOpt = command?.options.find((o) => prev !== undefined && o.names.includes(prev));
  const top = done[0];
  try {
    if (top && SMF.has(top)) {
      if (top === "svcprop" && prev === "-p") {
        const fmri = rest.find((w) => !w.startsWith("-") && w !== "-p" && rest[rest.indexOf(w) - 1] !== "-p");
        return fmri ? (await live.properties(fmri)).filter(starts) : [];
      }
      if (top === "svccfg" && (prev === "setprop" || prev === "delprop" || prev === "listprop" || prev === "delpg")) {
        const s = rest.indexOf("-s");
        return s >= 0 && rest[s + 1] ? (await live.properties(rest[s + 1]!)).filter(starts) : [];
      }
      if (top !== "svccfg" || prev === "-s") return (await live.fmris()).filter(starts);
      if (top === "svccfg" && rest.every((w, i) => (w === "-s" ? true : rest[i - 1] === "-s" || w === "-v"))) return [...KEYWORDS].filter(starts).sort();
      return [];
    }
    if (prevOpt?.takesValue) return [];
    if (top === "xm" && command && operandAt(command, rest) === "domain") return (await live.domains()).filter(starts);
  } catch {
    return [];
  }
  return [];
}

const CONFIG_FILE_COMMANDS = new Set(["create", "new"]);

/**
 * What the operand being typed is, from the usage line (`<Domain> [Filename]`, `<ConfigFile> ...`):
 * a bare `...` is a list of domains (xm list, shutdown); a `...` after other operands repeats
 * the kind before it (xm create's variables after the file are not domains).
 */
function operandAt(command: CommandDef, rest: readonly string[]): "domain" | undefined {
  // xm create and xm new read their own operands (a config file, then name=value settings).
  if (command.path[0] === "xm" && CONFIG_FILE_COMMANDS.has(command.path[1] ?? "")) return undefined;
  const tokens = command.usage.split(" ").slice(command.path.length + 1);
  const valued = new Set(command.options.filter((o) => o.takesValue).flatMap((o) => o.names));
  let index = 0;
  for (let i = 0; i < rest.length; i++) {
    if (valued.has(rest[i]!)) i++;
    else if (!rest[i]!.startsWith("-")) index++;
  }
  let token = tokens[Math.min(index, tokens.length - 1)];
  if (token === "...") token = tokens.length === 1 ? "<Domain>" : tokens[tokens.length - 2];
  return token !== undefined && /Domain/.test(token) ? "domain" : undefined;
}

/** The command word a program name stands for (`xm` when called through the link), if any. */
export function linkWord(program: string): string | undefined {
  const name = program.slice(program.lastIndexOf("/") + 1);
  return (LINK_NAMES as readonly string[]).includes(name) ? name : undefined;
}
