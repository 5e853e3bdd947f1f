/**
 * Signal names and numbers as SMF reports them. What a process is (alive, its arguments, its start)
 * is in src/runtime/process.ts, the one process-identity module.
 */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9,
  SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGSYS: 31,
};

export function signalNumber(name: string): number {
  return SIGNALS[name] ?? 0;
}

export function signalName(num: number): string {
  return Object.entries(SIGNALS).find(([, n]) => n === num)?.[0] ?? `SIG${num}`;
}

/** Signals whose default action dumps core (SMF tells "process dumped core" for these). */
export function dumpsCore(name: string): boolean {
  return ["SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGSEGV", "SIGSYS"].includes(name);
}
