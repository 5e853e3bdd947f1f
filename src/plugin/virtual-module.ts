/**
 * Makes `import … from "xvm/plugin"` work inside external plugins, which live outside any
 * node_modules tree: on Bun (the compiled binary) through a runtime plugin's virtual module, on
 * Node through a module resolve hook that maps the specifier to a module reading the API from a
 * global. Deno has neither; there, plugins export a plain object (definePlugin is an identity).
 */
import * as nodeModule from "node:module";
import { runtimeName } from "../runtime/self.ts";
import { PLUGIN_API, PLUGIN_API_SPECIFIER } from "./public.ts";

const GLOBAL_KEY = Symbol.for("xvm.plugin-api");
let installed = false;

export function installPluginApiModule(): void {
  if (installed) return;
  installed = true;
  (globalThis as Record<symbol, unknown>)[GLOBAL_KEY] = PLUGIN_API;
  const g = globalThis as { Bun?: { plugin(p: unknown): void } };
  if (runtimeName === "bun" && g.Bun) {
    g.Bun.plugin({
      name: "xvm-plugin-api",
      setup(build: { module(name: string, load: () => { exports: Record<string, unknown>; loader: "object" }): void }) {
        build.module(PLUGIN_API_SPECIFIER, () => ({ exports: { ...PLUGIN_API }, loader: "object" }));
      },
    });
    return;
  }
  if (runtimeName === "node") provideToRequire();
  const register = (nodeModule as { register?: (specifier: string, parentURL?: string) => void }).register;
  if (runtimeName !== "node" || typeof register !== "function") return;
  const api = `const a = globalThis[Symbol.for("xvm.plugin-api")];\n${Object.keys(PLUGIN_API)
    .map((k) => `export const ${k} = a.${k};`)
    .join("\n")}\nexport default a;\n`;
  const target = `data:text/javascript,${encodeURIComponent(api)}`;
  const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === ${JSON.stringify(PLUGIN_API_SPECIFIER)}) return { url: ${JSON.stringify(target)}, shortCircuit: true };
  return next(specifier, context);
}\n`;
  try {
    register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  } catch {
    // Hooks unavailable (old Node, a worker): plugins that import xvm/plugin fail to load and say so.
  }
}

/**
 * A file without `"type": "module"` around it may be loaded as CommonJS (tsx does so for `.ts`),
 * and `require` does not consult module hooks: answer `xvm/plugin` from the require cache.
 */
function provideToRequire(): void {
  type ModuleClass = {
    new (id: string): { exports: unknown; loaded: boolean; filename: string };
    _cache: Record<string, unknown>;
    _resolveFilename: (request: string, ...rest: unknown[]) => string;
  };
  const Module = nodeModule.createRequire(import.meta.url)("node:module") as ModuleClass;
  if (typeof Module._resolveFilename !== "function" || !Module._cache) return;
  const id = "/$xvm/plugin-api.cjs";
  const m = new Module(id);
  m.exports = PLUGIN_API;
  m.loaded = true;
  m.filename = id;
  Module._cache[id] = m;
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === PLUGIN_API_SPECIFIER ? id : resolve.call(this, request, ...rest);
  };
}
