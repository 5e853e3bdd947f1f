import { describe, expect, it } from "vitest";
import { commandArgs } from "../../src/cli/main.ts";

describe("multi-call dispatch", () => {
  it("uses the link name as the command", () => {
    expect(commandArgs("/usr/bin/svcs", ["-a"])).toEqual(["svcs", "-a"]);
    expect(commandArgs("./xm", ["list"])).toEqual(["xm", "list"]);
  });
  it("leaves xvm and runtimes alone", () => {
    expect(commandArgs("xvm", ["svcs", "-a"])).toEqual(["svcs", "-a"]);
    expect(commandArgs("node", ["svcs"])).toEqual(["svcs"]);
    expect(commandArgs("bun", ["svcs"])).toEqual(["svcs"]);
  });
});
