/**
 * Stopping what `npm start` started, and xm across a restart (issue 17 item 2), through the compiled
 * binary on a temporary root: `xm` right after `svcadm restart xend` waits for the daemon instead of
 * saying it is not running, and says "xend is restarting" when it does not come back in time;
 * `xvm shutdown` stops xend and the restarter (guests keep running, and it says so), `--guests` shuts
 * them down first; on a root where nothing was started it stops nothing and creates nothing.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, pidAlive, processesOfRoot, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
let root: string;
const x = (args: string[], env?: Record<string, string>) => run(args, { root, env, timeoutMs: 120_000 });
const pidOf = (file: string) => {
  try {
    return Number.parseInt(readFileSync(join(root, file), "utf8"), 10);
  } catch {
    return undefined;
  }
};
const daemonPid = () => pidOf("var/run/xend/xend.pid");
const restarterPid = () => pidOf("var/run/svc/restarter.pid");

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-stop-"), { relocation: false });
});

afterAll(async () => {
  await cleanupRoot(root);
});

describe("xm while xend restarts", () => {
  it("xm list right after svcadm restart xend waits for the daemon and lists", () => {
    expect(x(["svcadm", "enable", "-s", "xend"])).toMatchObject({ code: 0, stderr: "" });
    expect(x(["xm", "create", join(repo, "examples/idle.cfg")]).code).toBe(0);
    for (let i = 0; i < 2; i++) {
      const before = daemonPid();
      expect(x(["svcadm", "restart", "xend"])).toEqual({ code: 0, stdout: "", stderr: "" });
      const r = x(["xm", "list"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^idle1 +1 /m);
      expect(daemonPid()).not.toBe(before);
    }
  });

  it("says 'xend is restarting' when an enabled xend does not come back in time, then answers once it is back", async () => {
    const restarter = restarterPid()!;
    const daemon = daemonPid()!;
    // The restarter frozen, the daemon killed: the repository still says enabled, nobody restarts it yet.
    process.kill(restarter, "SIGSTOP");
    try {
      process.kill(daemon, "SIGKILL");
      await waitFor(() => !pidAlive(daemon), "xend to die");
      const r = x(["xm", "list"], { XVM_XM_WAIT_MS: "1000" });
      expect(r).toEqual({
        code: 1,
        stdout: "",
        stderr: expect.stringMatching(new RegExp(`^Error: xend is restarting for root ${root} \\(enabled, (online|offline)\\*?\\) and did not answer within 1 s; see: svcs -xv xend\n$`)),
      });
    } finally {
      process.kill(restarter, "SIGCONT");
    }
    // The restarter sees the death and starts xend again; xm waits for it (default wait, generous here).
    const r = x(["xm", "list"], { XVM_XM_WAIT_MS: "60000" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^idle1 +1 /m);
  });
});

describe("xvm shutdown (npm stop)", () => {
  it("stops xend and the restarter, leaves the guests running and says so", async () => {
    const daemon = daemonPid()!;
    const restarter = restarterPid()!;
    const r = x(["shutdown"]);
    expect(r).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "1 guest keeps running: idle1.",
        "  Stopping xend leaves guests running; xend re-attaches to them when it starts again.",
        "  To shut them down first: xvm shutdown --guests (npm stop -- --guests).",
        `xend stopped (pid ${daemon}).`,
        `restarter stopped (pid ${restarter}).`,
        "",
      ].join("\n"),
    });
    expect(pidAlive(daemon)).toBe(false);
    expect(pidAlive(restarter)).toBe(false);
    // Only the guest's runner is left.
    expect(processesOfRoot(root).map((p) => p.args.includes("__runner"))).toEqual([true]);
    expect(x(["svcs", "-H", "-o", "state", "xend"]).stdout).toBe("disabled\n");
  });

  it("--guests: after the next start (which re-attaches the guest), shuts it down first, then stops everything", async () => {
    expect(x(["svcadm", "enable", "-s", "xend"])).toMatchObject({ code: 0, stderr: "" });
    expect(x(["xm", "list"]).stdout).toMatch(/^idle1 +1 /m);
    // A crashed guest kept for inspection (on_crash = preserve) still holds its runner.
    expect(x(["xm", "create", join(repo, "examples/counter.cfg")]).code).toBe(0);
    expect(x(["xm", "sysrq", "counter1", "c"]).code).toBe(0);
    await waitFor(() => /^counter1 +\d+ +\d+ +\d+ +----c- /m.test(x(["xm", "list"]).stdout), "counter1 crashed and kept", 30_000);
    const r = x(["shutdown", "--guests"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^Shutting down 1 guest: idle1\nDomain idle1 terminated\nDomain counter1 \(crashed, kept\): destroyed\nxend stopped \(pid \d+\)\.\nrestarter stopped \(pid \d+\)\.\n$/);
    expect(processesOfRoot(root)).toEqual([]);
  });

  it("run again, or on a root where nothing was started, stops nothing and creates nothing", () => {
    expect(x(["shutdown"])).toEqual({ code: 0, stderr: "", stdout: "xend was not running.\nThe restarter was not running.\n" });
    const empty = join(root, "empty");
    expect(run(["shutdown"], { root: empty })).toEqual({ code: 0, stderr: "", stdout: `Nothing to stop: no repository on ${empty} (nothing was started there).\n` });
    expect(readdirSync(root)).not.toContain("empty");
  });

  it("npm stop runs it on $XVM_ROOT", () => {
    const empty = join(root, "npm-empty");
    const r = spawnSync("npm", ["stop", "--silent"], { cwd: repo, env: { ...process.env, XVM_ROOT: empty }, encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`State root: ${empty} (from $XVM_ROOT)\nNothing to stop: no repository on ${empty} (nothing was started there).\n`);
  });
});
