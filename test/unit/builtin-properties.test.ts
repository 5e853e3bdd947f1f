import { describe, expect, it } from "vitest";
import { BUILTIN_DECLARATIONS } from "../../src/daemon/builtin-properties.ts";
import { BUILTIN_PLUGINS } from "../../src/plugin/builtins.ts";

describe("built-in property declarations", () => {
  it("are the built-in plugins' own declarations, in registration order", () => {
    expect(BUILTIN_DECLARATIONS.map((d) => d.owner)).toEqual(BUILTIN_PLUGINS.map((p) => p.name));
    for (const [i, p] of BUILTIN_PLUGINS.entries()) expect(BUILTIN_DECLARATIONS[i]!.properties).toBe(p.properties);
  });
});
