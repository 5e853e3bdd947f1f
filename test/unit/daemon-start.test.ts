import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startDaemon, startExitCode, type Daemon } from "../../src/daemon/daemon.ts";
import { acquireDaemonLock, runningDaemonPid } from "../../src/daemon/pidfile.ts";
import { XvmError } from "../../src/errors.ts";
import { Paths } from "../../src/paths.ts";
import type { ConfigChanges, PluginDefinition } from "../../src/plugin/contract.ts";
import { unixJson } from "../../src/runtime/http-client.ts";
import { XEND_INSTANCE, XEND_SERVICE, setProp, takeSnapshot } from "../../src/smf/model.ts";
import { Repository } from "../../src/smf/repository.ts";
import { killPids, waitFor } from "../helpers/cli.ts";
import { withoutLineNo } from "../helpers/log-lines.ts";

const roots: string[] = [];
const children: ChildProcess[] = [];
function newRoot(): Paths {
  const root = mkdtempSync(join(tmpdir(), "xvm-daemon-"));
  roots.push(root);
  return new Paths(root);
}
afterAll(async () => {
  await killPids(children.map((c) => c.pid!).filter(Boolean));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** Sets config/<name> in the instance and publishes it to `running` (what svccfg + svcadm refresh do). */
function publish(paths: Paths, name: string, type: "integer" | "astring", value: string): void {
  new Repository(paths).update((d) => {
    setProp(d.services[XEND_SERVICE]!.instances[XEND_INSTANCE]!.pgs, "config", name, type, [value]);
    takeSnapshot(d, XEND_SERVICE, XEND_INSTANCE, "running");
  });
}

const lines = (path: string) => readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => withoutLineNo(l.replace(/^\[[^\]]+\] /, "")));

describe("the daemon in process", () => {
  let daemon: Daemon | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it("starts, serves the control API on a 0600 socket, refreshes and stops cleanly", async () => {
    const paths = newRoot();
    const events: string[] = [];
    const tPlugin: PluginDefinition = {
      name: "t",
      properties: { "t-port": { type: "integer", default: 1000, min: 1, description: "test port" } },
      setup(ctx) {
        events.push(`setup t ${String(ctx.config["t-port"])}`);
        return {
          refresh: (changes: ConfigChanges) => void events.push(`refresh t ${JSON.stringify([...changes])}`),
          stop: () => void events.push("stop t"),
          hooks: { daemonReady: () => void events.push("ready t") },
        };
      },
    };
    const broken: PluginDefinition = { name: "broken", setup() { throw new Error("no luck"); } };
    const last: PluginDefinition = {
      name: "last",
      setup() {
        events.push("setup last");
        return { stop: () => void events.push("stop last") };
      },
    };
    daemon = await startDaemon({ paths, builtins: [tPlugin, broken, last] });

    expect(statSync(paths.controlSocket).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.pidFile, "utf8")).toBe(`${process.pid}\n`);
    expect(readFileSync(paths.daemonLock, "utf8")).toBe(`${process.pid}\n`);

    const status = await unixJson<Record<string, unknown>>(paths.controlSocket, "GET", "/status");
    expect(Object.keys(status)).toEqual(["pid", "root", "state", "reasons", "startedAt", "version", "runtime"]);
    expect(status).toMatchObject({ pid: process.pid, root: paths.root, state: "degraded", version: "0.1.0" });
    expect(status.runtime).toMatch(/^(node|bun|deno) \d+\.\d+/);
    expect(status.reasons).toContain("plugin broken (builtin) failed in setup: no luck");
    const plugins = await unixJson<Array<{ name: string; state: string }>>(paths.controlSocket, "GET", "/plugins");
    expect(plugins.map((p) => `${p.name}:${p.state}`)).toEqual(["xend:running", "t:running", "broken:failed", "last:running"]);
    expect((await unixJson<Record<string, unknown>>(paths.controlSocket, "GET", "/config"))["t-port"]).toBe(1000);

    publish(paths, "t-port", "integer", "2000");
    const result = await unixJson<Record<string, unknown>>(paths.controlSocket, "POST", "/refresh");
    expect(result.changes).toEqual({ "t-port": { from: 1000, to: 2000 } });
    expect(events).toEqual(["setup t 1000", "setup last", "ready t", 'refresh t [["t-port",[1000,2000]]]']);
    expect(await unixJson(paths.controlSocket, "GET", "/config?property=t-port")).toEqual({ "t-port": 2000 });

    // loglevel INFO: DEBUG lines now reach xend-debug.log only.
    publish(paths, "loglevel", "astring", "INFO");
    await daemon.refresh();
    daemon.log.debug("a debug line after the change");
    const main = lines(paths.xendLog);
    const debug = lines(paths.xendDebugLog);
    expect(main).toContain('INFO (daemon/daemon) config/t-port: 1000 -> 2000');
    expect(main).toContain('INFO (daemon/daemon) config/loglevel: "DEBUG" -> "INFO"');
    expect(main.some((l) => l.startsWith("INFO (daemon/daemon) xend started: control API on"))).toBe(true);
    expect(main.some((l) => l.startsWith("ERROR (plugin/host) plugin broken (builtin) failed in setup: no luck"))).toBe(true);
    expect(main).not.toContain("DEBUG (unit/daemon-start.test) a debug line after the change");
    expect(debug).toContain("DEBUG (unit/daemon-start.test) a debug line after the change");

    await daemon.stop();
    expect(await daemon.done).toBe(0);
    daemon = undefined;
    expect(events.slice(-2)).toEqual(["stop last", "stop t"]);
    for (const f of [paths.controlSocket, paths.pidFile, paths.daemonLock]) expect(existsSync(f)).toBe(false);
    expect(lines(paths.xendLog).at(-1)).toBe("INFO (daemon/daemon) xend stopped (exit 0)");
  });

  it("refuses to run blind: an unwritable log directory is a configuration error (96)", async () => {
    const paths = newRoot();
    mkdirSync(join(paths.root, "var/log"), { recursive: true });
    writeFileSync(paths.xenLogDir, "a file where the log directory should be\n");
    const err = await startDaemon({ paths, builtins: [] }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(XvmError);
    expect((err as XvmError).code).toBe("LOG_UNWRITABLE");
    expect((err as XvmError).message).toMatch(new RegExp(`^cannot write log ${paths.xendLog}: E(EXIST|NOTDIR)`));
    expect(startExitCode(err)).toBe(96);
    expect(existsSync(paths.pidFile)).toBe(false);
    expect(existsSync(paths.daemonLock)).toBe(false);
  });

  it("treats a damaged repository as a configuration error (96)", async () => {
    const paths = newRoot();
    mkdirSync(join(paths.root, "etc/svc"), { recursive: true });
    writeFileSync(paths.repository, "garbage");
    const err = await startDaemon({ paths, builtins: [] }).then(() => undefined, (e: unknown) => e);
    expect((err as XvmError).code).toBe("REPO_CORRUPT");
    expect(startExitCode(err)).toBe(96);
    expect(existsSync(paths.pidFile)).toBe(false);
  });
});

describe("one daemon per state root", () => {
  it("refuses while a live xend holds the lock and takes over a stale one", async () => {
    const paths = newRoot();
    mkdirSync(paths.runDir, { recursive: true });
    // A process whose command line says xend, as `xvm xend` does.
    const holder = spawn("bash", ["-c", "exec -a xend sleep 60"], { stdio: "ignore" });
    children.push(holder);
    await waitFor(() => existsSync(`/proc/${holder.pid}/cmdline`) && readFileSync(`/proc/${holder.pid}/cmdline`, "utf8").startsWith("xend"), "the holder to exec");
    writeFileSync(paths.daemonLock, `${holder.pid}\n`);
    const serialize = <T>(fn: () => T): T => fn();
    expect(runningDaemonPid(paths)).toBe(holder.pid);
    expect(() => acquireDaemonLock(paths, serialize)).toThrow(`xend is already running for root ${paths.root} (pid ${holder.pid})`);
    expect(readFileSync(paths.daemonLock, "utf8")).toBe(`${holder.pid}\n`);
    await killPids([holder.pid!]);
    const lock = acquireDaemonLock(paths, serialize);
    expect(readFileSync(paths.daemonLock, "utf8")).toBe(`${process.pid}\n`);
    expect(readFileSync(paths.pidFile, "utf8")).toBe(`${process.pid}\n`);
    lock.release();
    expect(existsSync(paths.daemonLock)).toBe(false);
    expect(existsSync(paths.pidFile)).toBe(false);
  });

  it("does not mistake an unrelated process that reused the pid for xend", async () => {
    const paths = newRoot();
    mkdirSync(paths.runDir, { recursive: true });
    const other = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(other);
    writeFileSync(paths.pidFile, `${other.pid}\n`);
    expect(runningDaemonPid(paths)).toBeUndefined();
    acquireDaemonLock(paths, (fn) => fn()).release();
    await killPids([other.pid!]);
  });
});
