/**
 * The plugin boundary (issue 12): plugins import only `xvm/plugin`, their own files, `node:`
 * modules, hono and valibot; src/ imports plugins/ only in the two built-in lists; and no two
 * folders under src/ import each other (the figures: `npx tsx test/helpers/import-graph.ts`).
 */
import { describe, expect, it } from "vitest";
import { BUILTIN_PLUGINS } from "../../src/daemon/builtins.ts";
import { BUILTIN_PROPERTIES } from "../../src/smf/builtin-properties.ts";
import type { PropertyDecls } from "../../src/plugin/contract.ts";
import { boundaryViolations, folderPairs, importEdges, pairEdges } from "../helpers/import-graph.ts";

const edges = importEdges();

describe("the import graph", () => {
  it("reads the sources (the check is not vacuous)", () => {
    expect(edges.filter((e) => e.from.startsWith("plugins/") && e.specifier === "xvm/plugin").length).toBeGreaterThan(10);
    expect(edges.some((e) => e.from === "src/daemon/builtins.ts" && e.to === "plugins/relocation/index.ts")).toBe(true);
  });

  it("has no import across the plugin boundary", () => {
    const bad = boundaryViolations(edges).map((e) => `${e.from} imports ${e.specifier}`);
    expect(bad).toEqual([]);
  });

  it("reports src/ folders that import each other", () => {
    const pairs = folderPairs(edges);
    const report = pairs.map((p) => {
      const [a, b] = p.split(" <-> ") as [string, string];
      return `${p}: ${pairEdges(edges, a, b).map((e) => `${e.from} -> ${e.to}`).join(", ")}`;
    });
    if (report.length) console.log(`src/ folder pairs importing each other (${report.length}):\n  ${report.join("\n  ")}`);
    // Issue 12 started from 7 pairs (8 counted by hand); none is left.
    expect(pairs).toEqual([]);
  });
});

describe("the built-in lists", () => {
  it("declare, property for property, what the plugins carry, in registration order", () => {
    expect(BUILTIN_PROPERTIES.map((d) => d.owner)).toEqual(BUILTIN_PLUGINS.map((p) => p.name));
    // The plugins may add host-side behaviour (validate, show) to what properties.ts declares.
    const declared = (decls: PropertyDecls) =>
      Object.fromEntries(Object.entries(decls).map(([name, { validate: _v, show: _s, ...decl }]) => [name, decl]));
    for (const [i, p] of BUILTIN_PLUGINS.entries()) expect(declared(BUILTIN_PROPERTIES[i]!.properties)).toEqual(declared(p.properties ?? {}));
  });
});
