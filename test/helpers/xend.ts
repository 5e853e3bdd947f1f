/**
 * Runs the compiled `xvm xend` in the foreground on a test root, as the restarter would, and waits
 * until its control API answers. The caller stops it (SIGTERM) or cleans up with killPids.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { unixJson } from "../../src/runtime/http-client.ts";
import { socketAnswers } from "../../src/runtime/serve.ts";
import { killPids, waitFor, xvmBin } from "./cli.ts";

export interface XendProcess {
  child: ChildProcess;
  pid: number;
  socket: string;
  stdout(): string;
  stderr(): string;
  /** stdout and stderr as they came, interleaved. */
  output(): string;
  /** Resolves with [exit code, signal] when the process ends. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/**
 * `prefix` runs xend through another command that execs it (e.g. `ip netns exec NS`), so the pid
 * is still xend's.
 */
export async function startXend(root: string, env: Record<string, string> = {}, prefix: string[] = []): Promise<XendProcess> {
  const command = [...prefix, xvmBin(), "xend"];
  const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, XVM_ROOT: root, TZ: "UTC", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  let both = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => ((out += d), (both += d)));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => ((err += d), (both += d)));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on("exit", (code, signal) => resolve([code, signal])));
  const socket = join(root, "var/run/xend/control.sock");
  try {
    await Promise.race([
      waitFor(async () => (await socketAnswers(socket)) && (await unixJson(socket, "GET", "/status")), "xend's control API", 30_000),
      exited.then(([code, signal]) => {
        throw new Error(`xend exited before answering (code ${code}, signal ${signal}): ${err}`);
      }),
    ]);
  } catch (error) {
    // The caller never learns the pid of a daemon that did not answer: kill it here.
    await killPids([child.pid!]);
    throw error;
  }
  return {
    child,
    pid: child.pid!,
    socket,
    stdout: () => out,
    stderr: () => err,
    output: () => both,
    exited,
    api: <T>(method: string, path: string, body?: unknown) => unixJson<T>(socket, method, path, body, 30_000),
  };
}
