/**
 * Output cut by a closed pipe (`xvm svcs -a | head -1`) ends the command as SIGPIPE ends a C
 * program: nothing on stderr, status 141 as a shell shows it. The reader's end is closed before the
 * child has started, so its first write fails every time (a real `| head -1` may or may not have
 * left by then; that case is checked for its output only).
 */
import { spawn, spawnSync } from "node:child_process";
import { constants } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot, xvmBin } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const tsx = join(repoRoot, "node_modules/.bin/tsx");
let root: string;
const started = new Set<number>();

beforeAll(() => {
  root = newRepository(tempRoot("xvm-closed-stdout-"));
});

afterEach(() => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  started.clear();
});

afterAll(async () => {
  await cleanupRoot(root);
});

/** Runs `command args` with its stdout a pipe nobody reads; the status as a shell would show it. */
function withClosedStdout(command: string, args: string[]): Promise<{ status: number; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, XVM_ROOT: root }, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) started.add(child.pid);
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (child.pid !== undefined) started.delete(child.pid);
      done({ status: code ?? 128 + constants.signals[signal!], stderr });
    });
  });
}

const COMMANDS = [
  ["svcs", "-a"],
  ["svcs", "-?"],
  ["svcprop", "-p", "config", "xend"],
  ["svccfg", "-s", "xend", "listprop"],
  ["svccfg", "export", "xend"],
  ["--help"],
];

describe("a closed stdout", () => {
  for (const args of COMMANDS) {
    it(`ends \`xvm ${args.join(" ")}\` quietly, killed by SIGPIPE (compiled binary)`, async () => {
      expect(await withClosedStdout(xvmBin(), args)).toEqual({ status: 128 + constants.signals.SIGPIPE, stderr: "" });
    });
  }

  it("ends `xvm svcs -a` quietly from the sources under tsx", async () => {
    expect(await withClosedStdout(tsx, ["bin/xvm.ts", "svcs", "-a"])).toEqual({ status: 128 + constants.signals.SIGPIPE, stderr: "" });
  });

  it("`xvm svcs -a | head -1` prints the header and nothing on stderr", () => {
    const r = spawnSync("sh", ["-c", '"$0" svcs -a | head -1', xvmBin()], { env: { ...process.env, XVM_ROOT: root }, encoding: "utf8", timeout: 60_000 });
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "STATE          STIME    FMRI\n", stderr: "" });
  });
});
