import { describe, expect, it } from "vitest";
import { formatAffinity, formatCpuList, parseCpuList } from "../../src/domain/cpus.ts";
import { parseStateString, powerState, stateString, stateWord } from "../../src/domain/state.ts";

const none = { running: false, blocked: false, paused: false, shutdown: false, crashed: false, dying: false };

describe("state flags", () => {
  it("writes xm's six flags in the order r b p s c d", () => {
    expect(stateString(none)).toBe("------");
    expect(stateString({ ...none, running: true })).toBe("r-----");
    expect(stateString({ ...none, blocked: true })).toBe("-b----");
    expect(stateString({ ...none, paused: true })).toBe("--p---");
    expect(stateString({ ...none, shutdown: true })).toBe("---s--");
    expect(stateString({ ...none, crashed: true })).toBe("----c-");
    expect(stateString({ ...none, dying: true })).toBe("-----d");
    expect(stateString({ running: true, blocked: true, paused: true, shutdown: true, crashed: true, dying: true })).toBe("rbpscd");
  });

  it("reads them back and refuses anything else", () => {
    expect(parseStateString("-b-s--")).toEqual({ ...none, blocked: true, shutdown: true });
    expect(() => parseStateString("r----")).toThrow("state string must have 6 characters: 'r----'");
    expect(() => parseStateString("x-----")).toThrow("bad character 'x' at position 1 of state 'x-----'");
  });

  it("maps flags to power states and words for messages", () => {
    expect(powerState(none, false)).toBe("halted");
    expect(powerState({ ...none, running: true }, true)).toBe("running");
    expect(powerState({ ...none, blocked: true }, true)).toBe("running");
    expect(powerState({ ...none, paused: true }, true)).toBe("paused");
    expect(powerState({ ...none, shutdown: true }, true)).toBe("halted");
    expect(powerState({ ...none, crashed: true }, true)).toBe("crashed");
    expect(stateWord({ ...none, paused: true }, true)).toBe("paused");
    expect(stateWord({ ...none, shutdown: true }, true)).toBe("shut down");
    expect(stateWord(none, false)).toBe("not running");
  });
});

describe("CPU lists", () => {
  it("parses ranges and exclusions as xm did", () => {
    expect(parseCpuList("0-3,^1")).toEqual([0, 2, 3]);
    expect(parseCpuList(" 5, 2 ,2")).toEqual([2, 5]);
    expect(parseCpuList("0-7,^2-3")).toEqual([0, 1, 4, 5, 6, 7]);
    expect(() => parseCpuList("")).toThrow("empty CPU list");
    expect(() => parseCpuList("a")).toThrow("'a' is not a CPU number or range (e.g. 0-3,^1)");
    expect(() => parseCpuList("4-2")).toThrow("range '4-2' runs backwards");
  });

  it("formats lists as xm vcpu-list did", () => {
    expect(formatCpuList([0, 1, 2, 3])).toBe("0-3");
    expect(formatCpuList([1, 2, 4, 5])).toBe("1-2,4-5");
    expect(formatCpuList([0])).toBe("0");
    expect(formatCpuList([0, 1, 4, 6, 7])).toBe("0-1,4,6-7");
    expect(formatCpuList([])).toBe("no cpus");
    expect(formatAffinity([], 4)).toBe("any cpu");
    expect(formatAffinity([0, 1, 2, 3], 4)).toBe("any cpu");
    expect(formatAffinity([0, 2], 4)).toBe("0,2");
  });
});
