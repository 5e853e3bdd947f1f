/**
 * src/cli/xm/table.ts names every built-in xm subcommand of src/cli/xm/index.ts with a loader of
 * its own (what lets `xm list` load list.ts alone), and each loader gives the command of that name.
 */
import { describe, expect, it } from "vitest";
import { commands } from "../../src/cli/xm/index.ts";
import { XM_TABLE } from "../../src/cli/xm/table.ts";

const namesOf = (c: { paths?: string[][] }) => (c.paths ?? []).filter((p) => p.length === 2 && p[0] === "xm").map((p) => p[1]!);

describe("xm's command table", () => {
  it("names every subcommand of the full list but help, once", () => {
    const all = commands.flatMap(namesOf).filter((n) => !["help", "--help", "-h"].includes(n));
    expect([...XM_TABLE.keys()].sort()).toEqual([...new Set(all)].sort());
  });

  it("loads, for each name, the command with that name", async () => {
    for (const [name, load] of XM_TABLE) expect(namesOf(await load())).toContain(name);
  });
});
