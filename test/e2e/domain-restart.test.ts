/**
 * Guests outlive xend: kill -9 of xend while 5 counter guests run, then a new xend finds the same
 * guests (ids, names, uuids, memory) with their counters still advancing. kill -9 of one guest's
 * runner is that domain's crash, handled by its on_crash action; the others are untouched. A
 * second crash within MINIMUM_RESTART_TIME is refused by the restart-loop guard.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, pidAlive, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { consoleText, heartbeats, killXend, lastHeartbeat, listRows, startXend, xmOk, type ListRow, type Xend } from "../helpers/xm.ts";

let root: string;
let xend: Xend | undefined;
const started: number[] = [];

const NAMES = ["c1", "c2", "c3", "c4", "c5"];

function runnerPid(domid: string): number {
  return Number.parseInt(readFileSync(join(root, "var/run/xend/domains", domid, "pid"), "utf8"), 10);
}

function uuidOf(name: string): string {
  return /^\s+\(uuid ([0-9a-f-]{36})\)$/m.exec(xmOk(root, "list", "-l", name))![1]!;
}

/** Rows by name, without the columns that move on their own (state r/b, CPU time). */
function stable(rows: ListRow[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [r.name, `${r.id} ${r.mem} ${r.vcpus} ${r.state.replace(/^[r-][b-]/, "..")}`]));
}

async function advancing(name: string): Promise<void> {
  const before = await lastHeartbeat(root, name);
  await waitFor(async () => (await lastHeartbeat(root, name)) > before, `${name}'s counter to advance past ${before}`, 20_000, 100);
}

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-domain-restart-"), { relocation: false });
  xend = await startXend(root);
  started.push(xend.pid);
  for (const [i, name] of NAMES.entries()) {
    // c3 restarts on a crash; the others are kept crashed (preserve) for inspection.
    xmOk(root, "create", "examples/counter.cfg", `name=${name}`, "vif=['']", "memory=32", "maxmem=64", `on_crash=${i === 2 ? "restart" : "preserve"}`);
  }
  xmOk(root, "new", "examples/idle.cfg", "name=managed1");
  for (const name of NAMES) await waitFor(async () => heartbeats(await consoleText(root, name)).length > 0, `${name}'s first heartbeat`, 20_000, 100);
});

afterAll(async () => {
  await cleanupRoot(root, started);
});

describe("xend restarts under running guests", () => {
  it("finds the same 5 guests after kill -9, with the same ids, names, uuids and memory, counters advancing", async () => {
    const rows = listRows(root);
    expect(rows.map((r) => [r.name, r.id])).toEqual([["Domain-0", "0"], ["c1", "1"], ["c2", "2"], ["c3", "3"], ["c4", "4"], ["c5", "5"], ["managed1", ""]]);
    const uuids = NAMES.map(uuidOf);
    const pids = rows.slice(1, 6).map((r) => runnerPid(r.id));
    const beats = await Promise.all(NAMES.map((n) => lastHeartbeat(root, n)));
    const macs = NAMES.map((n) => /\(mac ([0-9a-f:]+)\)/.exec(xmOk(root, "list", "-l", n))![1]);
    expect(new Set(macs).size).toBe(5);

    await killXend(xend!);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    xend = await startXend(root);
    started.push(xend.pid);

    const after = listRows(root);
    expect(stable(after)).toEqual(stable(rows));
    expect(NAMES.map(uuidOf)).toEqual(uuids);
    expect(after.slice(1, 6).map((r) => runnerPid(r.id))).toEqual(pids);
    for (const [i, name] of NAMES.entries()) {
      await waitFor(async () => (await lastHeartbeat(root, name)) > beats[i]!, `${name}'s counter to advance past ${beats[i]}`, 20_000, 100);
      // Counted on from where it was: the console shows one rising sequence, never a reset.
      const seq = heartbeats(await consoleText(root, name));
      expect(seq).toEqual([...seq].sort((a, b) => a - b));
      expect(new Set(seq).size).toBe(seq.length);
    }
    // Operations work on the re-attached guests, and new ids continue after the old ones.
    xmOk(root, "pause", "c5");
    expect(listRows(root).find((r) => r.name === "c5")!.state).toBe("--p---");
    xmOk(root, "unpause", "c5");
    await advancing("c5");
  });

  it("reports a guest whose runner is killed as crashed; on_crash = preserve keeps it; others untouched", async () => {
    const before = stable(listRows(root));
    const pid = runnerPid("2");
    process.kill(pid, "SIGKILL");
    await waitFor(() => listRows(root).find((r) => r.name === "c2")?.state === "----c-", "c2 shown crashed");
    const after = stable(listRows(root));
    expect(after.c2).toBe("2 0 1 ..--c-");
    expect({ ...after, c2: undefined }).toEqual({ ...before, c2: undefined });
    expect(xmOk(root, "dmesg")).toMatch(new RegExp(`^\\(XEN\\) Domain 2 \\(c2\\) crashed: runner pid ${pid} `, "m"));
    for (const name of ["c1", "c3", "c4", "c5"]) await advancing(name);
    xmOk(root, "destroy", "c2");
    expect(listRows(root).map((r) => r.name)).toEqual(["Domain-0", "c1", "c3", "c4", "c5", "managed1"]);
  });

  it("restarts a guest whose runner is killed when on_crash = restart, under a new id; the others untouched", async () => {
    const before = stable(listRows(root));
    process.kill(runnerPid("3"), "SIGKILL");
    await waitFor(() => listRows(root).find((r) => r.name === "c3")?.id === "6", "c3 restarted as domain 6");
    const after = stable(listRows(root));
    expect(after.c3).toMatch(/^6 32 1 \.\.----$/);
    expect({ ...after, c3: undefined }).toEqual({ ...before, c3: undefined });
    await advancing("c3");
    for (const name of ["c1", "c4", "c5"]) await advancing(name);
  });

  it("refuses a second restart within MINIMUM_RESTART_TIME and destroys the domain", async () => {
    process.kill(runnerPid("6"), "SIGKILL");
    await waitFor(() => !listRows(root).some((r) => r.name === "c3"), "c3 destroyed by the loop guard");
    expect(xmOk(root, "log")).toMatch(/ERROR \(domain\/stop-actions:\d+\) VM c3 restarting too fast \(\d+\.\d{6} seconds since the last restart\)\.  Refusing to restart to avoid loops\./);
    expect(listRows(root).map((r) => r.name)).toEqual(["Domain-0", "c1", "c4", "c5", "managed1"]);
    for (const name of ["c1", "c4", "c5"]) await advancing(name);
  });
});
