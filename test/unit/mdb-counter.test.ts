/**
 * `::counter` mirrors the simulated guests' start-info layout instead of importing the simulator;
 * this keeps the two in step, and reads a counter written by the simulator's own accessors.
 */
import { describe, expect, it } from "vitest";
import { SIM_COUNTER_ADDR, SIM_MAGIC, SIM_OFF_PROGRAM } from "../../src/cli/mdb.ts";
import { COUNTER_ADDRESS, HEADER_PFN, MAGIC, OFF_COUNTER, OFF_PROGRAM } from "../../src/hypervisor/sim/programs.ts";

describe("mdb ::counter and the simulator agree", () => {
  it("on where the start info and the counter are", () => {
    expect(HEADER_PFN).toBe(0);
    expect(SIM_MAGIC).toBe(MAGIC);
    expect(SIM_OFF_PROGRAM).toBe(OFF_PROGRAM);
    expect(SIM_COUNTER_ADDR).toBe(OFF_COUNTER);
    expect(SIM_COUNTER_ADDR).toBe(COUNTER_ADDRESS);
  });
});
