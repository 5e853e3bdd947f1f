/**
 * Start-up (docs/architecture.md): each command area loads only what it runs. Checked on the
 * static import graph (what evaluating a module evaluates; dynamic imports load later, on use),
 * as esbuild resolves it for the bundle.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

const repo = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** Every file evaluated when `entry` is, repository-relative (node_modules as `pkg:name`). */
async function staticGraph(entry: string): Promise<string[]> {
  const r = await build({ entryPoints: [join(repo, entry)], absWorkingDir: repo, bundle: true, platform: "node", format: "esm", write: false, metafile: true, logLevel: "silent", outdir: "/nonexistent" });
  const inputs = r.metafile.inputs;
  const seen = new Set<string>([entry]);
  const queue = [entry];
  while (queue.length > 0) {
    for (const i of inputs[queue.shift()!]?.imports ?? []) {
      if (i.kind !== "import-statement" || i.external || seen.has(i.path)) continue;
      seen.add(i.path);
      queue.push(i.path);
    }
  }
  return [...new Set([...seen].map((p) => p.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, "pkg:$1")))].sort();
}

describe("start-up loads only the command area run", () => {
  it("`xvm --version` evaluates the entry, the link names and the version, nothing else", async () => {
    expect(await staticGraph("bin/xvm.ts")).toEqual(["bin/xvm.ts", "src/cli/link-names.ts", "src/version.ts"]);
  });

  for (const area of ["src/cli/svcs.ts", "src/cli/svcprop.ts", "src/cli/svccfg.ts"]) {
    it(`${area} evaluates no Hono, valibot, plugin code, domain, hypervisor or daemon code`, async () => {
      const graph = await staticGraph(area);
      const heavy = graph.filter(
        (f) =>
          /^pkg:(hono|@hono\/|valibot)/.test(f) ||
          (f.startsWith("plugins/") && !/\/(properties|hosts-allow|key-property)\.ts$/.test(f)) ||
          /^src\/(domain|hypervisor|host)\//.test(f) ||
          f.startsWith("src/daemon/"),
      );
      expect(heavy).toEqual([]);
    });
  }
});
