import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { XvmError } from "../../src/errors.ts";
import { Paths } from "../../src/paths.ts";
import { discoverPlugins, importPlugin, pluginDirectories } from "../../src/plugin/loader.ts";

const root = mkdtempSync(join(tmpdir(), "xvm-loader-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(path: string, text: string): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe("plugin discovery", () => {
  it("maps plugin-path entries under the state root, skipping empty ones", () => {
    expect(pluginDirectories("/usr/lib/xvm/plugins::opt/p: ", new Paths("/r"))).toEqual(["/r/usr/lib/xvm/plugins", "/r/opt/p"]);
  });

  it("finds files and folders in directory order, then by name; skips what is not a plugin", () => {
    const d1 = join(root, "d1");
    const d2 = join(root, "d2");
    for (const f of ["b.js", "a.ts", "c.mjs", ".hidden.js", "types.d.ts", "x.test.ts", "readme.md", "z/index.ts", "z/index.js", "y/index.ts", "empty/notes.txt"]) {
      write(join(d1, f), "");
    }
    write(join(d2, "a.js"), "");
    const found = discoverPlugins([d1, join(root, "missing"), d2]);
    expect(found).toEqual([
      { name: "a", path: join(d1, "a.ts"), root: join(d1, "a.ts") },
      { name: "b", path: join(d1, "b.js"), root: join(d1, "b.js") },
      { name: "c", path: join(d1, "c.mjs"), root: join(d1, "c.mjs") },
      { name: "y", path: join(d1, "y/index.ts"), root: join(d1, "y") },
      { name: "z", path: join(d1, "z/index.js"), root: join(d1, "z") },
      { name: "a", path: join(d2, "a.js"), root: join(d2, "a.js") },
    ]);
  });
});

describe("plugin import", () => {
  const dir = join(root, "imp");

  it("loads a plain .js object and a .ts plugin that imports xvm/plugin", async () => {
    const js = write(join(dir, "plain.js"), `export default { name: "plain", setup() {} };\n`);
    const ts = write(
      join(dir, "typed/index.ts"),
      `import { definePlugin, Hono } from "xvm/plugin";\nconst n: string = typeof Hono;\nexport default definePlugin({ name: "typed", description: n, properties: { "typed-x": { type: "integer", default: 1, description: "x" } }, setup() {} });\n`,
    );
    expect((await importPlugin({ name: "plain", path: js })).name).toBe("plain");
    const typed = await importPlugin({ name: "typed", path: ts });
    expect(typed.name).toBe("typed");
    expect(typed.description).toBe("function");
    expect(Object.keys(typed.properties ?? {})).toEqual(["typed-x"]);
  });

  it("reports a syntax error, a missing import and a top-level throw with the name and path", async () => {
    const cases = [
      ["syntax", write(join(dir, "syntax.js"), `export default { name: "syntax", setup() {\n`)],
      ["missing", write(join(dir, "missing.js"), `import x from "no-such-package-xvm";\nexport default x;\n`)],
      ["thrower", write(join(dir, "thrower.js"), `throw new Error("refusing to load");\n`)],
    ] as const;
    for (const [name, path] of cases) {
      const err = await importPlugin({ name, path }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(XvmError);
      expect((err as XvmError).code).toBe("PLUGIN_LOAD_FAILED");
      expect((err as XvmError).message.startsWith(`plugin ${name} (${path}) failed to load: `)).toBe(true);
    }
    const thrown = await importPlugin({ name: "thrower", path: cases[2][1] }).catch((e: XvmError) => e.message);
    expect(thrown).toBe(`plugin thrower (${cases[2][1]}) failed to load: refusing to load`);
  });

  it("refuses a module whose default export is not a plugin", async () => {
    const none = write(join(dir, "none.js"), `export const plugin = { name: "none", setup() {} };\n`);
    const notPlugin = write(join(dir, "notplugin.js"), `export default { name: "np", start() {} };\n`);
    const fn = write(join(dir, "fn.js"), `export default function () {}\n`);
    const msg = async (name: string, path: string) => importPlugin({ name, path }).catch((e: XvmError) => `${e.code}: ${e.message}`);
    expect(await msg("none", none)).toBe(`PLUGIN_INVALID: plugin none (${none}) is not a valid plugin: it has no default export (export default definePlugin({ … }))`);
    expect(await msg("notplugin", notPlugin)).toBe(`PLUGIN_INVALID: plugin np (${notPlugin}) is not a valid plugin: setup: required`);
    expect(await msg("fn", fn)).toBe(`PLUGIN_INVALID: plugin fn (${fn}) is not a valid plugin: the default export is function, not a plugin definition`);
  });
});
