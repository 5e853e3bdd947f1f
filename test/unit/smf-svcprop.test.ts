import { describe, expect, it } from "vitest";
import { quoteForShell } from "../../src/cli/svcprop.ts";

describe("svcprop's quote_for_shell", () => {
  it("backslashes every Bourne shell metacharacter and prints the empty string as \"\"", () => {
    expect(quoteForShell("")).toBe('""');
    expect(quoteForShell("plain-value_1.0")).toBe("plain-value_1.0");
    expect(quoteForShell("^flax$ ^localhost$")).toBe("\\^flax$\\ \\^localhost$");
    expect(quoteForShell(":kill -HUP")).toBe(":kill\\ -HUP");
    expect(quoteForShell(";&()|^<>\n \t\\\"'`")).toBe("\\;\\&\\(\\)\\|\\^\\<\\>\\\n\\ \\\t\\\\\\\"\\'\\`");
    // `$`, `*` and `?` are not in svcprop's list.
    expect(quoteForShell("$HOME/*?")).toBe("$HOME/*?");
  });
});
