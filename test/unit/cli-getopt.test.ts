import { describe, expect, it } from "vitest";
import { getopt } from "../../src/getopt.ts";

describe("getopt (POSIX, as the SMF commands read their command lines)", () => {
  it("reads options clustered or apart, in order, and the operands after them", () => {
    expect(getopt(["-ab", "-c", "x", "y"], "abc", "prog")).toEqual({
      opts: [{ c: "a" }, { c: "b" }, { c: "c" }],
      operands: ["x", "y"],
    });
    expect(getopt([], "abc", "prog")).toEqual({ opts: [], operands: [] });
  });

  it("an option with `:` takes the rest of its word, else the next word, even one starting with '-'", () => {
    expect(getopt(["-ofoo", "-s", "bar", "x"], "o:s:", "prog")).toEqual({
      opts: [{ c: "o", arg: "foo" }, { c: "s", arg: "bar" }],
      operands: ["x"],
    });
    expect(getopt(["-vs", "-x", "op"], "vs:", "prog")).toEqual({ opts: [{ c: "v" }, { c: "s", arg: "-x" }], operands: ["op"] });
    // The argument ends the cluster: `-sv` is -s with the argument "v".
    expect(getopt(["-sv"], "vs:", "prog")).toEqual({ opts: [{ c: "s", arg: "v" }], operands: [] });
  });

  it("stops at the first operand, at a lone '-' (an operand) and after '--'", () => {
    expect(getopt(["-a", "x", "-b"], "ab", "prog")).toEqual({ opts: [{ c: "a" }], operands: ["x", "-b"] });
    expect(getopt(["-", "-a"], "a", "prog")).toEqual({ opts: [], operands: ["-", "-a"] });
    expect(getopt(["-a", "--", "-b", "--"], "ab", "prog")).toEqual({ opts: [{ c: "a" }], operands: ["-b", "--"] });
  });

  it("names an unknown letter as getopt prints it, keeping the options read before it", () => {
    expect(getopt(["-a", "-bx", "y"], "ab", "svcs")).toEqual({
      opts: [{ c: "a" }, { c: "b" }],
      operands: [],
      error: { c: "x", missingArgument: false, message: "svcs: illegal option -- x\n" },
    });
    // `:` marks arguments in the option string; it is never an option itself.
    expect(getopt(["-:"], "a:", "svccfg").error).toEqual({ c: ":", missingArgument: false, message: "svccfg: illegal option -- :\n" });
  });

  it("'?' is an option only when the option string has it (svcs -?)", () => {
    expect(getopt(["-?"], "a?x", "svcs")).toEqual({ opts: [{ c: "?" }], operands: [] });
    expect(getopt(["-?"], "ab", "svcadm").error?.message).toBe("svcadm: illegal option -- ?\n");
  });

  it("a missing argument is reported for its letter", () => {
    expect(getopt(["-v", "-s"], "vs:", "svcprop")).toEqual({
      opts: [{ c: "v" }],
      operands: [],
      error: { c: "s", missingArgument: true, message: "svcprop: option requires an argument -- s\n" },
    });
  });

  it("names a letter outside the BMP whole", () => {
    expect(getopt(["-a\u{1F600}"], "a", "svcs").error?.message).toBe("svcs: illegal option -- \u{1F600}\n");
    expect(getopt(["-\u00e9"], "a", "svcs").error?.message).toBe("svcs: illegal option -- \u00e9\n");
  });
});
