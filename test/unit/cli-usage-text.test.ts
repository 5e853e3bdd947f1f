import { describe, expect, it } from "vitest";
import { builtinWords } from "../../src/cli/command-line.ts";
import { namePlaceholders, placeholderFor } from "../../src/cli/usage-text.ts";

describe("usage text", () => {
  it("names clipanion's #n placeholders after the option", () => {
    expect(namePlaceholders("xvm xm migrate [-l,--live] [-p,--port #0] [-r,--resource #0] <Domain> <Host>")).toBe(
      "xvm xm migrate [-l,--live] [-p,--port PORT] [-r,--resource MBITS] <Domain> <Host>",
    );
    expect(namePlaceholders("xvm plug [--some-thing #0 #1]")).toBe("xvm plug [--some-thing SOME_THING1 SOME_THING2]");
    expect(namePlaceholders("  --timeout #0    seconds to wait")).toBe("  --timeout SECONDS    seconds to wait");
    expect(placeholderFor("-x")).toBe("VALUE");
  });

  it("reads `help` and `version` as the built-in words", () => {
    expect(builtinWords(["help"])).toEqual(["--help"]);
    expect(builtinWords(["help", "xend", "stop"])).toEqual(["xend", "stop", "--help"]);
    expect(builtinWords(["version"])).toEqual(["--version"]);
    expect(builtinWords(["xm", "help"])).toEqual(["xm", "help"]);
  });
});
