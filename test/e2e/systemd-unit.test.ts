/**
 * The systemd unit (issue 17 item 6), through the compiled binary: `xvm systemd-unit` prints a unit
 * that `systemd-analyze verify` accepts, for this binary and the state root in force;
 * contrib/systemd/xend.service is the same unit for /usr/local/bin/xvm and root /. Run as systemd
 * runs it (its ExecStart and Environment, INVOCATION_ID set), xend serves and `svcs` says so: online,
 * restarter systemd (not "disabled"); SIGTERM to the main process alone (KillMode=process) stops
 * xend with exit 0 and leaves the guest running.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, pidAlive, processesOfRoot, run, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { xm, xmOk } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
let root: string;
let unit: string;
let daemonPid: number | undefined;

/** `Key=value` lines of the [Service] section. */
function serviceKeys(text: string): Record<string, string> {
  const section = text.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  return Object.fromEntries(section.split("\n").filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-systemd-"), { relocation: false });
  const r = run(["systemd-unit"], { root });
  expect(r).toMatchObject({ code: 0, stderr: "" });
  unit = r.stdout;
});

afterAll(async () => {
  await cleanupRoot(root, daemonPid ? [daemonPid] : []);
});

describe("xvm systemd-unit", () => {
  it("prints a unit for this binary and root that runs xend in the foreground", () => {
    const keys = serviceKeys(unit);
    expect(keys).toMatchObject({
      Type: "exec",
      Environment: `XVM_ROOT=${root}`,
      ExecStart: `${xvmBin()} xend`,
      ExecReload: "/bin/kill -HUP $MAINPID",
      KillMode: "process",
      Restart: "on-failure",
    });
    expect(unit).toMatch(/^\[Install\]\nWantedBy=multi-user\.target\n$/m);
  });

  it("is accepted by systemd-analyze verify (when the host has it)", () => {
    if (!existsSync("/usr/bin/systemd-analyze")) {
      console.warn("systemd-unit: systemd-analyze is not installed; verify skipped");
      return;
    }
    const file = join(root, "xend.service");
    writeFileSync(file, unit);
    const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8", timeout: 60_000 });
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  });

  it("contrib/systemd/xend.service is the unit for /usr/local/bin/xvm and root /", () => {
    const r = run(["systemd-unit", "--exec", "/usr/local/bin/xvm"], { root: "/" });
    expect(r.code).toBe(0);
    expect(readFileSync(join(repo, "contrib/systemd/xend.service"), "utf8")).toBe(r.stdout);
  });
});

describe("xend under systemd", () => {
  it("svcs shows it online with restarter systemd; a SIGTERM to the main process leaves the guest running", async () => {
    const keys = serviceKeys(unit);
    const [cmd, ...args] = keys.ExecStart!.split(" ");
    const [envName, envValue] = keys.Environment!.split("=");
    const child = spawn(cmd!, args, { env: { ...process.env, [envName!]: envValue!, INVOCATION_ID: "0123456789abcdef" }, stdio: "ignore" });
    daemonPid = child.pid!;
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await waitFor(() => xm(root, "list").code === 0, "xend to answer", 30_000, 100);
    xmOk(root, "create", join(repo, "examples/idle.cfg"));

    expect(run(["svcs", "-H", "-o", "state,fmri", "xend"], { root }).stdout).toBe("online         svc:/system/xvm/xend:default\n");
    // Listed without -a too: it runs.
    expect(run(["svcs", "-H", "-o", "state,fmri"], { root }).stdout).toContain("online         svc:/system/xvm/xend:default\n");
    const l = run(["svcs", "-l", "-p", "xend"], { root }).stdout;
    expect(l).toMatch(/^state {8}online\n/m);
    expect(l).toMatch(/^restarter {4}systemd\n/m);
    expect(l).toMatch(new RegExp(`^process {6}${daemonPid} `, "m"));
    expect(run(["svcs", "-x", "xend"], { root }).stdout).not.toContain("Reason:");

    // systemctl stop with KillMode=process: SIGTERM to the main process only.
    const runner = processesOfRoot(root).find((p) => p.args.includes("__runner"));
    expect(runner).toBeDefined();
    process.kill(daemonPid, "SIGTERM");
    expect(await exited).toBe(0);
    expect(pidAlive(runner!.pid)).toBe(true);
    expect(run(["svcs", "-H", "-o", "state", "xend"], { root }).stdout).toBe("disabled\n");
  });
});
