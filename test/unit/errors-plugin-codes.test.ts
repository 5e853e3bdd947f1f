/** Plugin error codes (Fastify-style): declared by a plugin, they join the one error table. */
import { describe, expect, it } from "vitest";
import { XvmError, defineErrors, errorDefinition, formatError, type PluginErrorCode } from "../../src/errors.ts";

describe("plugin error codes", () => {
  it("join the table: status, exit status and message come from the declaration", () => {
    const errors = defineErrors("t1", { T1_QUOTA_FULL: { status: 507, exit: 3, message: "quota of {who} is full ({used} MiB)" } });
    const e = errors.T1_QUOTA_FULL({ who: "web1", used: 12 });
    expect(e).toBeInstanceOf(XvmError);
    expect(e).toMatchObject({ code: "T1_QUOTA_FULL", message: "quota of web1 is full (12 MiB)", status: 507, exitCode: 3 });
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: "T1_QUOTA_FULL", message: "quota of web1 is full (12 MiB)", params: { who: "web1", used: 12 } });
    expect(errorDefinition("T1_QUOTA_FULL")).toEqual({ status: 507, exit: 3, message: "quota of {who} is full ({used} MiB)", owner: "t1" });
    expect(formatError("T1_QUOTA_FULL" as PluginErrorCode, { who: "x", used: 1 })).toBe("quota of x is full (1 MiB)");
  });

  it("refuses a code the core or another plugin declared, and a badly formed one", () => {
    expect(() => defineErrors("t2", { DOMAIN_NOT_FOUND: { status: 404, message: "mine" } })).toThrow("error code DOMAIN_NOT_FOUND of t2 is already declared by xvm");
    defineErrors("t2", { T2_BUSY: { status: 409, message: "busy" } });
    defineErrors("t2", { T2_BUSY: { status: 409, message: "busy" } }); // the same declaration again (a second load)
    expect(() => defineErrors("t3", { T2_BUSY: { status: 409, message: "busy" } })).toThrow("error code T2_BUSY of t3 is already declared by t2");
    expect(() => defineErrors("t3", { busy: { status: 409, message: "busy" } })).toThrow(/use upper case words joined by '_'/);
    expect(errorDefinition("NO_SUCH_CODE")).toBeUndefined();
  });
});
