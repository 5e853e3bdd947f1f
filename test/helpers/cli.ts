/**
 * Helpers for end-to-end tests: run the compiled binary against a temporary state root, poll for
 * conditions with a deadline (never a fixed sleep), and clean up every process started, by pid.
 */
import { pidAlive } from "../../src/runtime/process.ts";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");

/** The binary under test: $XVM_BIN, else dist/xvm (built by `npm test` before the suite). */
export function xvmBin(): string {
  const bin = process.env.XVM_BIN ? resolve(process.env.XVM_BIN) : join(repoRoot, "dist", "xvm");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
  return bin;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  root: string;
  input?: string;
  env?: Record<string, string>;
  /** argv[0] to present (multi-call: "svccfg", "svcs", …); default runs `xvm <args>`. */
  argv0?: string;
  timeoutMs?: number;
}

function childEnv(root: string, extra?: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, XVM_ROOT: root, TZ: process.env.TZ ?? "UTC", ...extra };
}

/** Runs the binary to completion. */
export function run(args: string[], options: RunOptions): RunResult {
  const r = spawnSync(xvmBin(), args, {
    input: options.input ?? "",
    env: childEnv(options.root, options.env),
    argv0: options.argv0,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 60_000,
  });
  // The child may exit before reading its (empty) stdin: EPIPE then says nothing about the run.
  if (r.error && !((r.error as NodeJS.ErrnoException).code === "EPIPE" && (r.status !== null || r.signal !== null))) throw r.error;
  return { code: r.status ?? (r.signal ? 128 : 1), stdout: r.stdout, stderr: r.stderr };
}

/** Runs the binary asynchronously (for concurrency tests). */
export function runAsync(args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(xvmBin(), args, { env: childEnv(options.root, options.env), argv0: options.argv0 });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    child.stdin.on("error", () => {}); // EPIPE when the child exits without reading stdin
    child.stdin.end(options.input ?? "");
  });
}

/** A fresh state root; remove it with {@link cleanupRoot}. */
export function tempRoot(prefix = "xvm-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 20_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export { pidAlive };

/** Kills the given pids (SIGKILL) and waits until they are gone. */
export async function killPids(pids: Iterable<number>): Promise<void> {
  const list = [...pids].filter((p) => Number.isInteger(p) && p > 1);
  for (const pid of list) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await waitFor(() => list.every((p) => !pidAlive(p)), `pids ${list.join(",")} to exit`, 10_000);
}

/** Every pid recorded under a state root (restarter, daemon, guest runners): for cleanup. */
export function pidsUnder(root: string): number[] {
  const out = new Set<number>();
  const files = [
    "var/run/svc/restarter.pid",
    "var/run/xend/xend.pid",
  ];
  for (const f of files) {
    const p = join(root, f);
    if (existsSync(p)) {
      const n = Number.parseInt(readFileSync(p, "utf8"), 10);
      if (n > 1) out.add(n);
    }
  }
  // Guest runners record their pid in var/run/xend/domains/<domid>/pid.
  const runners = join(root, "var/run/xend/domains");
  if (existsSync(runners)) {
    for (const d of readdirSync(runners)) {
      const p = join(runners, d, "pid");
      if (existsSync(p)) {
        const n = Number.parseInt(readFileSync(p, "utf8"), 10);
        if (n > 1) out.add(n);
      }
    }
  }
  return [...out];
}

/**
 * Every live process started for `root`, found in /proc rather than in pid files (which a failed
 * test may never have reached): the binary's commands and daemons carry XVM_ROOT=<root> in their
 * environment; guest runners started by an in-process driver name their folder under the root.
 * Never this test process or its parent.
 */
export function processesOfRoot(root: string): Array<{ pid: number; args: string[] }> {
  const out: Array<{ pid: number; args: string[] }> = [];
  const below = join(root, "/");
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (pid === process.pid || pid === process.ppid) continue;
    try {
      const args = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0").filter(Boolean);
      const ours = readFileSync(`/proc/${d}/environ`, "utf8").split("\0").includes(`XVM_ROOT=${root}`) ||
        args.some((a) => a.startsWith(below));
      if (ours && pidAlive(pid)) out.push({ pid, args });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

/**
 * Kills everything a test started under `root` (the pid files, every process of the root found in
 * /proc, and `extraPids`), by pid, then removes the root. Safe to call after a failure midway.
 */
export async function cleanupRoot(root: string, extraPids: number[] = []): Promise<void> {
  await killPids([...pidsUnder(root), ...processesOfRoot(root).map((p) => p.pid), ...extraPids]);
  // A second pass: a daemon killed in the first may have started a restarter just before.
  await killPids(processesOfRoot(root).map((p) => p.pid));
  // A process dying in the last pass may still have had a file to close or write: removal retries
  // (ENOTEMPTY), and kills once more what the root may still hold.
  for (let attempt = 0; ; attempt++) {
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
      return;
    } catch (error) {
      if (attempt >= 3) throw error;
      await killPids(processesOfRoot(root).map((p) => p.pid));
    }
  }
}
