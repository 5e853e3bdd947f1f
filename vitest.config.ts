import { defineConfig } from "vitest/config";

export default defineConfig({
  // External plugins import `xvm/plugin`; the daemon provides it at run time, vite needs telling.
  resolve: { alias: { "xvm/plugin": new URL("./src/plugin/public.ts", import.meta.url).pathname } },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end files start daemons and guests; two workers match the 2-core CI machine.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
