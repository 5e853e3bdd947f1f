import { describe, expect, it } from "vitest";
import { dropRestarterJitEnv, restarterJitEnv } from "../../src/smf/restarter/jit.ts";

describe("the restarter's JIT setting", () => {
  it("asks for no JIT unless the caller chose a setting, and the restarter's children get the caller's", () => {
    const env: NodeJS.ProcessEnv = { PATH: "/bin", ...restarterJitEnv({ PATH: "/bin" }) };
    expect(env.BUN_JSC_useJIT).toBe("0");
    dropRestarterJitEnv(env);
    expect(env).toEqual({ PATH: "/bin" });

    expect(restarterJitEnv({ BUN_JSC_useJIT: "1" })).toEqual({});
    const chosen: NodeJS.ProcessEnv = { BUN_JSC_useJIT: "0" };
    dropRestarterJitEnv(chosen);
    expect(chosen).toEqual({ BUN_JSC_useJIT: "0" });
  });
});
