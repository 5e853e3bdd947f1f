/**
 * issue 13 §3, the restarter: killed, the next svcs/svcadm (or xend itself) notices; svcs never
 * says online for a dead xend; a dead xend is restarted once a restarter runs again; and
 * `svcadm disable -s` / `svcadm refresh` on a root where nothing runs start nothing that stays
 * running. Against the compiled binary, faults injected by pid.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupRoot, killPids, pidAlive, processesOfRoot, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";

const roots: string[] = [];

function newRoot(): string {
  const r = prepareRoot(tempRoot("xvm-restarter-robust-"), { relocation: false });
  roots.push(r);
  return r;
}

afterAll(async () => {
  for (const r of roots) await cleanupRoot(r);
});

const pidOf = (root: string, file: string) => {
  const p = join(root, file);
  return existsSync(p) ? Number.parseInt(readFileSync(p, "utf8"), 10) : undefined;
};
const daemonPid = (root: string) => pidOf(root, "var/run/xend/xend.pid");
const restarterPid = (root: string) => pidOf(root, "var/run/svc/restarter.pid");
const svcsLine = (root: string, fmri: string) => run(["svcs", "-H", "-o", "state,nstate", fmri], { root }).stdout;

describe("on a root where nothing runs", () => {
  for (const args of [["disable", "-s", "xend"], ["refresh", "xend"], ["disable", "xend"]]) {
    it(`svcadm ${args.join(" ")} leaves no process running`, async () => {
      const root = newRoot();
      expect(run(["svcadm", ...args], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
      await waitFor(() => processesOfRoot(root).length === 0, "every process of the root to be gone", 30_000);
      expect(svcsLine(root, "xend")).toBe("disabled       -\n");
      expect(existsSync(join(root, "var/run/svc/restarter.pid"))).toBe(false);
      // Still usable: the next enable starts a restarter and the daemon.
      expect(run(["svcadm", "enable", "-s", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(pidAlive(daemonPid(root)!)).toBe(true);
    });
  }

  it("svcadm disable -s after the daemon ran stops it, then the restarter leaves too", async () => {
    const root = newRoot();
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    expect(run(["svcadm", "disable", "-s", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    await waitFor(() => processesOfRoot(root).length === 0, "every process of the root to be gone", 30_000);
    expect(run(["svcs", "-H", "-o", "state", "svc:/system/svc/restarter:default"], { root }).stdout).toBe("offline\n");
  });
});

describe("a killed restarter", () => {
  it("with its daemon killed too: svcs shows xend offline, never online; the next svcadm restarts it", async () => {
    const root = newRoot();
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    const old = daemonPid(root)!;
    await killPids([restarterPid(root)!, old]);
    expect(svcsLine(root, "xend")).toBe("offline        -\n");
    const x = run(["svcs", "-x", "xend"], { root }).stdout;
    expect(x).toContain(`Reason: The service's process (pid ${old}) exited while its restarter svc:/system/svc/restarter:default was not running; the next svcadm command starts one, which restarts the service.\n`);
    // (svc:/system/xvm/domains has no process: it stays as recorded, online, until a restarter runs.)
    expect(run(["svcs", "-H", "-o", "state", "xend", "restarter"], { root }).stdout).toBe("offline\noffline\n");

    expect(run(["svcadm", "enable", "-s", "xend"], { root })).toEqual({ code: 0, stdout: "", stderr: "" });
    const now = daemonPid(root)!;
    expect(now).not.toBe(old);
    expect(pidAlive(now)).toBe(true);
    expect(svcsLine(root, "xend")).toBe("online         -\n");
  });

  it("alone: xend starts a new restarter, which restarts xend when xend is killed next", async () => {
    const root = newRoot();
    expect(run(["svcadm", "enable", "-s", "xend"], { root }).code).toBe(0);
    const daemon = daemonPid(root)!;
    const first = restarterPid(root)!;
    await killPids([first]);
    const second = await waitFor(() => {
      const p = restarterPid(root);
      return p !== undefined && p !== first && pidAlive(p) && svcsLine(root, "svc:/system/svc/restarter:default") === "online         -\n" ? p : undefined;
    }, "xend to start a new restarter", 30_000);
    expect(readFileSync(join(root, "var/log/xen/xend.log"), "utf8")).toContain(`the restarter (pid ${first}) is gone; starting a new one to supervise xend`);
    expect(daemonPid(root)).toBe(daemon);

    await killPids([daemon]);
    const next = await waitFor(() => {
      const p = daemonPid(root);
      return p !== undefined && p !== daemon && pidAlive(p) && svcsLine(root, "xend") === "online         -\n" ? p : undefined;
    }, "xend restarted by the new restarter", 30_000);
    expect(restarterPid(root)).toBe(second);
    expect(processesOfRoot(root).map((p) => p.pid).sort()).toEqual([second, next].sort());
  });
});
