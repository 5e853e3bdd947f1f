/**
 * Every command of the binary, by area. Each area exports its own `commands` list from its own
 * file, so adding a command never touches another area's file.
 *
 * Areas load lazily: `svcs` evaluates only the svcs modules, which keeps the cold start of each
 * command (and the memory of long-running ones: the restarter, xend, guest runners) to what it
 * uses. Only a command line that names no known area (`xvm --help`) loads them all.
 */
import type { CommandClass } from "clipanion";

type Area = () => Promise<{ commands: CommandClass[] }>;

const AREAS: Record<string, Area> = {
  svccfg: () => import("./svccfg.ts"),
  svcprop: () => import("./svcprop.ts"),
  svcadm: () => import("./svcadm.ts"),
  svcs: () => import("./svcs.ts"),
  xend: () => import("./xend.ts"),
  xm: () => import("./xm/index.ts"),
  mdb: () => import("./mdb.ts"),
  dladm: () => import("./dladm.ts"),
  "install-links": () => import("./misc.ts"),
  shutdown: () => import("./shutdown.ts"),
  "systemd-unit": () => import("./systemd-unit.ts"),
  completion: () => import("./completion/index.ts"),
  man: () => import("./completion/index.ts"),
  __complete: () => import("./completion/index.ts"),
  __runner: () => import("./runner.ts"),
  __restarter: () => import("./restarter.ts"),
};

/**
 * The first words a user may type (the built-in `help`, `version`, `--help`… aside). Internal
 * commands, `__runner` and `__restarter`, which the binary runs in its own child processes, are
 * left out: never suggested, never listed.
 */
export function publicAreas(): string[] {
  return Object.keys(AREAS).filter((name) => !name.startsWith("__"));
}

export function isArea(name: string): boolean {
  return Object.hasOwn(AREAS, name);
}

/**
 * The commands needed to run a command line whose first words are `first` and `second` (all of
 * them if `first` names no area). For `xm`, external plugins' commands are added when `second`
 * is not one of xm's own subcommands (a plugin's, or xm's listing): src/cli/xm/external-commands.ts.
 */
export async function registry(first?: string, second?: string): Promise<CommandClass[]> {
  // `xvm --version` is clipanion's built-in: it needs no area at all.
  if (first === "--version" || first === "-v") return [];
  const area = first !== undefined ? AREAS[first] : undefined;
  const areas = area ? [area] : [...new Set(Object.values(AREAS))];
  const loaded = await Promise.all(areas.map((load) => load()));
  // Several first words may name one module (completion, man, __complete): its commands once.
  const commands = [...new Set(loaded)].flatMap((m) => m.commands);
  // External plugins' xm commands: for xm, and for every listing of all commands (`xvm --help`,
  // `xvm completion`'s candidates, `xvm man`), so that they appear wherever xm's own do.
  if (first === "xm" || area === undefined) {
    const own = new Set(commands.flatMap((c) => (c.paths ?? []).filter((p) => p[0] === "xm").map((p) => p[1]).filter((n): n is string => n !== undefined)));
    const listing = area === undefined || second === undefined || second === "help" || second === "--help" || second === "-h";
    if (listing || !own.has(second)) {
      const { externalCommands } = await import("./xm/external-commands.ts");
      commands.push(...(await externalCommands(own)));
    }
  }
  return commands;
}
