/**
 * Finding and importing external plugins. A plugin is a `*.js`, `*.mjs` or `*.ts` file, or a folder
 * with `index.js`, `index.mjs` or `index.ts` (in that order of preference: a folder holding both
 * sources and their build runs the build), in one of the directories of `config/plugin-path`.
 * Directories are searched in the order given and each one's entries in byte order of their names,
 * which is the registration order.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { XvmError, errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";
import { isPluginDefinition, type PluginDefinition } from "./contract.ts";
import { checkDefinition } from "./schema.ts";
import { installPluginApiModule } from "./virtual-module.ts";
import { untrustedReason } from "../security/trusted-path.ts";

const FILE = /\.(js|mjs|ts)$/;
const INDEX_NAMES = ["index.js", "index.mjs", "index.ts"];

export interface PluginFile {
  /** File or folder name without extension: the name failures are reported under. */
  name: string;
  /** The file imported. */
  path: string;
  /** What the plugin is in its directory: the file, or the folder of a folder plugin. */
  root?: string;
}

/** The directories of a colon-separated `plugin-path`, each under the state root. */
export function pluginDirectories(pluginPath: string, paths: Paths): string[] {
  return pluginPath.split(":").filter((d) => d.trim() !== "").map((d) => paths.under(d.trim()));
}

/** Plugin files in `dirs`, in registration order. Missing directories are skipped. */
export function discoverPlugins(dirs: readonly string[], warn: (message: string) => void = () => undefined): PluginFile[] {
  const out: PluginFile[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      if (!existsSync(dir)) continue;
      names = readdirSync(dir).sort();
    } catch (error) {
      warn(`cannot read plugin directory ${dir}: ${errorMessage(error)}`);
      continue;
    }
    for (const name of names) {
      if (name.startsWith(".") || name.endsWith(".d.ts") || /\.test\.[a-z]+$/.test(name)) continue;
      const full = join(dir, name);
      let isDir: boolean;
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        continue; // a dangling link
      }
      if (isDir) {
        const index = INDEX_NAMES.map((i) => join(full, i)).find((p) => existsSync(p));
        if (index) out.push({ name, path: index, root: full });
      } else if (FILE.test(name)) {
        out.push({ name: name.replace(FILE, ""), path: full, root: full });
      }
    }
  }
  return out;
}

/**
 * Imports a plugin file and checks its default export. Throws PLUGIN_UNTRUSTED before importing
 * a plugin that someone other than root or the daemon's user could have changed (the file, a
 * file of its folder, or a folder above it: src/security/trusted-path.ts), PLUGIN_LOAD_FAILED
 * (syntax error, missing import, a throw at top level) or PLUGIN_INVALID (not a plugin definition).
 */
export async function importPlugin(file: PluginFile): Promise<PluginDefinition> {
  const untrusted = untrustedReason(file.root ?? file.path);
  if (untrusted) throw new XvmError("PLUGIN_UNTRUSTED", { name: file.name, path: file.root ?? file.path, detail: untrusted });
  installPluginApiModule();
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(file.path).href)) as { default?: unknown };
  } catch (error) {
    throw new XvmError("PLUGIN_LOAD_FAILED", { name: file.name, path: file.path, detail: loadErrorText(error) }, { cause: error });
  }
  const def = mod.default;
  const problem = def === undefined ? "it has no default export (export default definePlugin({ … }))" : checkDefinition(def);
  if (problem || !isPluginDefinition(def)) {
    const name = declaredName(def) ?? file.name;
    throw new XvmError("PLUGIN_INVALID", { name, path: file.path, detail: problem ?? "not a plugin definition" });
  }
  return def;
}

/** The name a definition-like object gives itself (a function's own `name` does not count). */
export function declaredName(value: unknown): string | undefined {
  const name = typeof value === "object" && value !== null ? (value as { name?: unknown }).name : undefined;
  return typeof name === "string" && name !== "" ? name : undefined;
}

/** One line: runtimes put the position of a syntax error in different places. */
function loadErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as Error & { position?: { line?: number; column?: number; file?: string } };
  const where = e.position?.line !== undefined ? ` (line ${e.position.line}${e.position.column !== undefined ? `:${e.position.column}` : ""})` : "";
  const kind = e.name && e.name !== "Error" ? `${e.name}: ` : "";
  return `${kind}${e.message.split("\n")[0]}${where}`;
}
