/**
 * `xvm xend` from the compiled binary: foreground daemon, control API, SIGHUP after a repository
 * change, SIGTERM, one daemon per root, the log directory check, and the small clients.
 */
import { withoutLineNo } from "../helpers/log-lines.ts";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, run, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { startXend, type XendProcess } from "../helpers/xend.ts";

const started: XendProcess[] = [];
const roots: string[] = [];

afterEach(async () => {
  const pids = started.splice(0).map((x) => x.pid);
  for (const root of roots.splice(0)) await cleanupRoot(root, pids);
});

function newRoot(): string {
  const root = tempRoot("xvm-xend-");
  roots.push(root);
  return prepareRoot(root, { relocation: false });
}

async function start(root: string): Promise<XendProcess> {
  const x = await startXend(root);
  started.push(x);
  return x;
}

const logLines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean);
const stripStamp = (line: string) => withoutLineNo(line.replace(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+\] /, ""));

describe("xvm xend", () => {
  it("serves the control API, reloads on SIGHUP and stops cleanly on SIGTERM", async () => {
    const root = newRoot();
    const x = await start(root);
    const status = await x.api<Record<string, unknown>>("GET", "/status");
    expect(status).toMatchObject({ pid: x.pid, root, state: "online", reasons: [], version: "0.1.0" });
    expect(status.runtime).toMatch(/^bun \d+\.\d+\.\d+/);
    expect(Date.parse(String(status.startedAt))).toBeGreaterThan(Date.now() - 60_000);
    expect(statSync(x.socket).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8")).toBe(`${x.pid}\n`);

    const plugins = await x.api<Array<{ name: string; source: string; state: string }>>("GET", "/plugins");
    expect(plugins.map((p) => `${p.name} ${p.source} ${p.state}`)).toEqual([
      "xend builtin running",
      "default-nic builtin running",
      "dom0-cpus builtin running",
      "dom0-min-mem builtin running",
      "enable-dump builtin running",
      "relocation builtin running",
      "unix-server builtin running",
    ]);
    const config = await x.api<Record<string, unknown>>("GET", "/config");
    expect(config).toMatchObject({ "dom0-min-mem": 196, "enable-dump": true, "xend-relocation-server": false, loglevel: "DEBUG", hypervisor: "sim" });

    const xendLog = join(root, "var/log/xen/xend.log");
    const debugLog = join(root, "var/log/xen/xend-debug.log");
    const first = logLines(xendLog)[0]!;
    expect(first).toMatch(new RegExp(`^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d ${x.pid}\\] INFO \\(daemon/daemon:\\d+\\) xend 0\\.1\\.0 starting: pid ${x.pid}, root ${root}, bun `));

    // svccfg edits, svccfg refresh publishes to `running`; the daemon only sees it on SIGHUP.
    expect(run(["svccfg", "-s", "xend", "setprop", "config/enable-dump", "=", "false"], { root }).code).toBe(0);
    expect(run(["svccfg", "-s", "xend:default", "refresh"], { root }).code).toBe(0);
    expect((await x.api<Record<string, unknown>>("GET", "/config?property=enable-dump"))["enable-dump"]).toBe(true);
    process.kill(x.pid, "SIGHUP");
    await waitFor(async () => (await x.api<Record<string, unknown>>("GET", "/config?property=enable-dump"))["enable-dump"] === false, "enable-dump false after SIGHUP");
    await waitFor(() => logLines(xendLog).map(stripStamp).includes("INFO (daemon/daemon) config/enable-dump: true -> false"), "the change in xend.log");

    // POST /refresh does the same, and answers what changed.
    run(["svccfg", "-s", "xend", "setprop", "config/loglevel", "=", "INFO"], { root });
    run(["svccfg", "-s", "xend:default", "refresh"], { root });
    const refreshed = await x.api<Record<string, unknown>>("POST", "/refresh");
    expect(refreshed).toEqual({ state: "online", reasons: [], changes: { loglevel: { from: "DEBUG", to: "INFO" } } });

    process.kill(x.pid, "SIGTERM");
    expect(await x.exited).toEqual([0, null]);
    for (const f of ["var/run/xend/control.sock", "var/run/xend/xend.pid", "var/run/xend/xend.lock", "var/lib/xend/xend-socket"]) {
      expect(existsSync(join(root, f))).toBe(false);
    }
    expect(stripStamp(logLines(xendLog).at(-1)!)).toBe("INFO (daemon/daemon) xend stopped (exit 0)");
    // Plugins stop in reverse registration order (DEBUG lines: xend-debug.log).
    const stops = logLines(debugLog).map(stripStamp).filter((l) => / stopped in \d+ ms$/.test(l)).map((l) => l.replace(/^DEBUG \([^)]+\) plugin (\S+) stopped.*/, "$1"));
    expect(stops).toEqual(["unix-server", "relocation", "enable-dump", "dom0-min-mem", "dom0-cpus", "default-nic", "xend"]);
    // What the daemon wrote on stdout is in xend-debug.log too.
    expect(x.stdout()).toBe(`xend: running (pid ${x.pid}); control API on ${x.socket}\n`);
    expect(readFileSync(debugLog, "utf8")).toContain(`xend: running (pid ${x.pid}); control API on ${x.socket}\n`);
  });

  it("refuses a second daemon on the same root", async () => {
    const root = newRoot();
    const x = await start(root);
    const second = run(["xend"], { root, timeoutMs: 30_000 });
    expect(second).toEqual({ code: 1, stdout: "", stderr: `xend: xend is already running for root ${root} (pid ${x.pid})\n` });
    expect(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8")).toBe(`${x.pid}\n`);
    expect((await x.api<{ pid: number }>("GET", "/status")).pid).toBe(x.pid);
    process.kill(x.pid, "SIGTERM");
    expect(await x.exited).toEqual([0, null]);
  });

  it("lets exactly one of two daemons started at once hold the root", async () => {
    const root = newRoot();
    const children = [0, 1].map(() => spawn(xvmBin(), ["xend"], { env: { ...process.env, XVM_ROOT: root }, stdio: ["ignore", "pipe", "pipe"] }));
    const pids = children.map((c) => c.pid!);
    started.push(...pids.map((pid) => ({ pid }) as XendProcess));
    const stderr = ["", ""];
    children.forEach((c, i) => c.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr[i] += d)));
    const exits = children.map((c) => new Promise<number | null>((r) => c.on("exit", (code) => r(code))));
    // The loser exits 1 on its own; the winner answers on the control socket.
    const loser = await Promise.race(exits.map((e, i) => e.then((code) => ({ i, code }))));
    const winner = pids[1 - loser.i]!;
    expect(loser.code).toBe(1);
    expect(stderr[loser.i]).toBe(`xend: xend is already running for root ${root} (pid ${winner})\n`);
    await waitFor(async () => (await unixJson<{ pid: number }>(join(root, "var/run/xend/control.sock"), "GET", "/status")).pid === winner, "the winner to answer");
    expect(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8")).toBe(`${winner}\n`);
    process.kill(winner, "SIGTERM");
    expect(await exits[1 - loser.i]).toBe(0);
  });

  it("exits 96 when the log directory cannot be written, leaving nothing behind", () => {
    const root = newRoot();
    mkdirSync(join(root, "var/log"), { recursive: true });
    writeFileSync(join(root, "var/log/xen"), "not a directory\n");
    const r = run(["xend"], { root, timeoutMs: 30_000 });
    expect(r.code).toBe(96);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^xend: cannot write log ${root}/var/log/xen/xend\\.log: E(EXIST|NOTDIR)[^\\n]*\\n$`));
    for (const f of ["var/run/xend/control.sock", "var/run/xend/xend.pid", "var/run/xend/xend.lock"]) expect(existsSync(join(root, f))).toBe(false);
  });

  it("xend status, reload and stop talk to the running daemon", async () => {
    const root = newRoot();
    const down = run(["xend", "status"], { root });
    expect(down).toEqual({
      code: 1,
      stdout: "",
      stderr: `xend: xend is not running for root ${root} (no control socket at ${root}/var/run/xend/control.sock); try: svcadm enable xend\n`,
    });
    const x = await start(root);
    const status = run(["xend", "status"], { root });
    expect(status.code).toBe(0);
    expect(status.stdout.split("\n").slice(0, 3)).toEqual(["state      online", `pid        ${x.pid}`, `root       ${root}`]);
    expect(JSON.parse(run(["xend", "status", "--json"], { root }).stdout)).toMatchObject({ pid: x.pid, state: "online" });
    run(["svccfg", "-s", "xend", "setprop", "config/dom0-min-mem", "=", "200"], { root });
    run(["svccfg", "-s", "xend:default", "refresh"], { root });
    expect(run(["xend", "reload"], { root })).toEqual({ code: 0, stdout: "config/dom0-min-mem: 196 -> 200\nstate online\n", stderr: "" });
    // The daemon is our child: `xend stop` must not wait for us to reap it.
    expect(run(["xend", "stop"], { root, timeoutMs: 30_000 })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await x.exited).toEqual([0, null]);
    expect(run(["xend", "stop"], { root }).code).toBe(1);
  });
});
