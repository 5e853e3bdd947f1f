/**
 * The restarter runs without JavaScriptCore's JIT compilers (BUN_JSC_useJIT=0): it wakes a few
 * times a second to read the repository and ask xend for its status, work the interpreter does in
 * well under a millisecond, while the JIT's compiler threads, code and the runtime code they
 * touch cost it about 5 MiB of its ~50 (docs/architecture.md, "Memory"). Whoever starts a
 * restarter asks for that through its environment; the restarter then takes the setting out
 * again so that the daemon it starts runs with the JIT, as its caller's environment had it.
 */
const MARK = "XVM_RESTARTER_NO_JIT";

/** Environment additions for starting a restarter (none if the caller chose a JIT setting). */
export function restarterJitEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return env.BUN_JSC_useJIT === undefined ? { BUN_JSC_useJIT: "0", [MARK]: "1" } : {};
}

/** In the restarter: forget the setting, so that its children do not inherit it. */
export function dropRestarterJitEnv(env: NodeJS.ProcessEnv = process.env): void {
  if (env[MARK] !== "1") return;
  delete env.BUN_JSC_useJIT;
  delete env[MARK];
}
