/**
 * The import graph of the repository's sources, for the boundary check
 * (test/unit/import-boundary.test.ts) and the figures in the notes (`npx tsx test/helpers/import-graph.ts`).
 * Specifiers are read with a regular expression over whole files (static `import`/`export … from`,
 * side-effect `import "…"` and dynamic `import("…")`), type-only imports included: a type import
 * still ties one folder to another.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface ImportEdge {
  /** Importing file, relative to the repository root, with `/`. */
  from: string;
  specifier: string;
  /** The imported file relative to the root when the specifier is relative, else undefined. */
  to?: string;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^;'"]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

const posix = (p: string): string => p.split(sep).join("/");

/** Drops comments so that an `import` in a doc comment is not an edge. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

export function importEdges(dirs: readonly string[] = ["src", "plugins"]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const dir of dirs) {
    for (const file of walk(join(ROOT, dir))) {
      const text = stripComments(readFileSync(file, "utf8"));
      const from = posix(relative(ROOT, file));
      for (const m of text.matchAll(IMPORT)) {
        const specifier = m[1] ?? m[2] ?? m[3]!;
        const to = specifier.startsWith(".") ? posix(relative(ROOT, resolve(dirname(file), specifier))) : undefined;
        edges.push({ from, specifier, to });
      }
    }
  }
  return edges;
}

/**
 * The built-in lists, the only files under src/ that may import plugins/: the plugins themselves
 * (the daemon loads them) and their property declarations alone (svcs/svccfg seed the repository).
 */
export const BUILTIN_LISTS = ["src/daemon/builtins.ts", "src/smf/builtin-properties.ts", "src/daemon/builtin-commands.ts"];

/** What a plugin file may import besides its own plugin's files. */
export function allowedInPlugin(specifier: string): boolean {
  return specifier === "xvm/plugin" || specifier.startsWith("node:") || specifier === "valibot" ||
    specifier === "hono" || specifier.startsWith("hono/");
}

const pluginOf = (path: string): string | undefined => /^plugins\/([^/]+)\//.exec(path)?.[1];

/** Edges that cross the plugin boundary the wrong way. */
export function boundaryViolations(edges: readonly ImportEdge[]): ImportEdge[] {
  return edges.filter((e) => {
    const own = pluginOf(e.from);
    if (own !== undefined) {
      if (e.to === undefined) return !allowedInPlugin(e.specifier);
      return pluginOf(e.to) !== own;
    }
    if (e.from.startsWith("src/") && e.to?.startsWith("plugins/")) {
      if (!BUILTIN_LISTS.includes(e.from)) return true;
      // The properties list is read by svcs/svccfg, the commands list by xm: declarations only.
      if (e.from === "src/smf/builtin-properties.ts") return !/^plugins\/[^/]+\/properties\.ts$/.test(e.to);
      if (e.from === "src/daemon/builtin-commands.ts") return !/^plugins\/[^/]+\/commands\.ts$/.test(e.to);
      return false;
    }
    return false;
  });
}

/** Folder under src/ a file belongs to (`src/domain/x.ts` -> `domain`); undefined for src/*.ts. */
export function srcFolder(path: string): string | undefined {
  return /^src\/([^/]+)\//.exec(path)?.[1];
}

/** Pairs of src/ folders that import each other, each as `a <-> b` (a < b). */
export function folderPairs(edges: readonly ImportEdge[]): string[] {
  const links = new Set<string>();
  for (const e of edges) {
    const a = srcFolder(e.from);
    const b = e.to === undefined ? undefined : srcFolder(e.to);
    if (a && b && a !== b) links.add(`${a}>${b}`);
  }
  const pairs = new Set<string>();
  for (const l of links) {
    const [a, b] = l.split(">") as [string, string];
    if (links.has(`${b}>${a}`)) pairs.add(a < b ? `${a} <-> ${b}` : `${b} <-> ${a}`);
  }
  return [...pairs].sort();
}

/** Edges behind one pair, for the report. */
export function pairEdges(edges: readonly ImportEdge[], a: string, b: string): ImportEdge[] {
  return edges.filter((e) => e.to !== undefined && ((srcFolder(e.from) === a && srcFolder(e.to) === b) || (srcFolder(e.from) === b && srcFolder(e.to) === a)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const edges = importEdges();
  const intoSrc = edges.filter((e) => pluginOf(e.from) !== undefined && e.to?.startsWith("src/"));
  console.log(`imports from plugins/ into src/: ${intoSrc.length}`);
  console.log(`boundary violations: ${boundaryViolations(edges).length}`);
  const pairs = folderPairs(edges);
  console.log(`src/ folder pairs importing each other: ${pairs.length}`);
  for (const p of pairs) {
    const [a, b] = p.split(" <-> ") as [string, string];
    console.log(`  ${p}`);
    for (const e of pairEdges(edges, a, b)) console.log(`    ${e.from} -> ${e.to}`);
  }
}
