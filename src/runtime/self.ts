/**
 * How to start this same program again (the restarter starts xend, xend starts guest runners):
 * the compiled binary is just its own path; from sources the runtime needs the script too.
 */
const g = globalThis as { Bun?: unknown; Deno?: unknown };

export const runtimeName: "bun" | "deno" | "node" = g.Bun ? "bun" : g.Deno ? "deno" : "node";

/** True inside the `bun build --compile` executable. */
export function isCompiled(): boolean {
  return (process.argv[1] ?? "").startsWith("/$bunfs/") || (process.argv[1] ?? "").startsWith("B:\\~BUN\\");
}

/** argv prefix that re-runs this program; append the subcommand and its arguments. */
export function selfCommand(): string[] {
  if (process.env.XVM_SELF) return JSON.parse(process.env.XVM_SELF) as string[];
  if (isCompiled()) return [process.execPath];
  const script = process.argv[1];
  if (!script) return [process.execPath];
  if (runtimeName === "deno") return [process.execPath, "run", "-A", script];
  return [process.execPath, ...process.execArgv, script];
}
