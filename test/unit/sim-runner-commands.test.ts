import { describe, expect, it } from "vitest";
import { MIGRATE_COMMANDS, RUNNER_COMMANDS } from "../../src/hypervisor/sim/commands/index.ts";
import { commands as migrate } from "../../src/hypervisor/sim/commands/migrate.ts";

describe("runner command table", () => {
  it("names exactly the migration commands that load on first use", () => {
    expect([...MIGRATE_COMMANDS].sort()).toEqual(Object.keys(migrate).sort());
    for (const name of MIGRATE_COMMANDS) expect(typeof RUNNER_COMMANDS[name]).toBe("function");
  });
});
