/**
 * Shared steps of the relocation end-to-end tests: "hosts" are daemons of the compiled binary on
 * their own state roots, each with its relocation server on its own free port of 127.0.0.1; guests
 * are created with `xm create`; the console, the memory digest and the migration records come from
 * the control API. Every process is found again by pid (cleanupRoot) and killed.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { cleanupRoot, run, tempRoot, waitFor, xvmBin, type RunResult } from "./cli.ts";
import { prepareRoot } from "./daemon.ts";
import { freePort } from "./ports.ts";
import { writeRelocationKey } from "./relocation-key.ts";
import { startXend, type XendProcess } from "./xend.ts";

export interface Host {
  root: string;
  port: number;
  xend: XendProcess;
  /** Runs the binary on this host's root. */
  x(...args: string[]): RunResult;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export function ok(r: RunResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** Sets config properties in the repository and publishes them (`running` snapshot). */
export function setProps(root: string, props: Record<string, string>): void {
  prepareRoot(root, { props });
}

/**
 * A daemon on a fresh root with its relocation server on a free port, holding the test's shared
 * relocation key (`key: null` leaves the daemon to generate its own, as on a fresh install).
 */
export async function startHost(prefix: string, props: Record<string, string> = {}, env: Record<string, string> = {}, key?: Buffer | null): Promise<Host> {
  const root = tempRoot(`xvm-reloc-${prefix}-`);
  let xend: XendProcess;
  let port: number;
  try {
    if (key !== null) writeRelocationKey(root, key ?? undefined);
    port = await freePort();
    setProps(root, { "xend-relocation-port": String(port), ...props });
    xend = await startXend(root, { XVM_TEST_FAULTS: "1", ...env });
  } catch (error) {
    // The caller gets no Host to clean up after a start that failed.
    await cleanupRoot(root);
    throw error;
  }
  return {
    root, port, xend,
    x: (...args: string[]) => run(args, { root }),
    api: xend.api,
  };
}

/** Restarts a host's daemon (after it was killed), same root and port. */
export async function restartHost(h: Host, env: Record<string, string> = {}): Promise<void> {
  h.xend = await startXend(h.root, { XVM_TEST_FAULTS: "1", ...env });
  h.api = h.xend.api;
}

export function createGuest(h: Host, name: string, body: string): void {
  const path = join(h.root, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\n${body}\n`);
  ok(h.x("xm", "create", path));
}

/** `xm list` rows: name -> {id, state}. */
export function domains(h: Host): Map<string, { id: number; mem: number; state: string }> {
  const rows = new Map<string, { id: number; mem: number; state: string }>();
  for (const line of ok(h.x("xm", "list")).split("\n").slice(1).filter(Boolean)) {
    const [id, mem, , state] = line.slice(40).trim().split(/\s+/);
    rows.set(line.slice(0, 40).trim(), { id: Number(id), mem: Number(mem), state: state! });
  }
  return rows;
}

export async function uuidOf(h: Host, dom: string): Promise<string> {
  return (await h.api<{ uuid: string }>("GET", `/domains/${dom}`)).uuid;
}

export async function consoleText(h: Host, dom: string): Promise<string> {
  return (await h.api<{ text: string }>("GET", `/domains/${dom}/console`)).text;
}

/** The last `heartbeat N` a counter guest printed, or -1. */
export async function lastHeartbeat(h: Host, dom: string): Promise<number> {
  const all = [...(await consoleText(h, dom)).matchAll(/heartbeat (\d+)/g)];
  return all.length ? Number(all.at(-1)![1]) : -1;
}

export interface Digest {
  pages: number;
  sha256: string;
  sha256Rest: string;
}

export function digest(h: Host, dom: string): Promise<Digest> {
  return h.api<Digest>("GET", `/plugins/relocation/digest/${dom}`);
}

/** Nothing of any guest is left on a host: only Domain-0 listed, no runner folder. */
export function expectNoGuests(h: Host): void {
  expect([...domains(h).keys()]).toEqual(["Domain-0"]);
  const dir = join(h.root, "var/run/xend/domains");
  expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
}

export interface Running {
  lines: string[];
  done: Promise<RunResult>;
  pid: number;
}

/** `xvm …` in the background, its stdout lines collected as they come. */
export function background(root: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(xvmBin(), args, { env: { ...process.env, XVM_ROOT: root, TZ: "UTC", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let out = "";
  let err = "";
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    out += d;
    partial += d;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const done = new Promise<RunResult>((resolve) => child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout: out, stderr: err })));
  return { lines, done, pid: child.pid! };
}

/** Waits until a background `xm migrate` printed a progress line at or past `percent` of round 1. */
export async function progressAtLeast(m: Running, percent: number): Promise<void> {
  await waitFor(() => m.lines.some((l) => {
    const p = /round \d+, (\d+)%/.exec(l);
    return p !== null && Number(p[1]) >= percent;
  }), `migration progress of ${percent}%`, 30_000);
}

export { waitFor };

/** Pids of live runner processes whose folder is under `root` (found in /proc, not in pid files). */
export function runnerPids(root: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      if (argv.includes("__runner") && argv.some((a) => a.startsWith(join(root, "var/run/xend/domains")))) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}
