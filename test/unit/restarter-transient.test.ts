/**
 * The transient supervisor (src/smf/restarter/transient.ts) on a real repository in a temporary
 * root, with methods the test controls: it waits for its dependency, runs the start once it is
 * satisfied, holds `settled()` until a stop has run, and treats a method that outlives its timeout
 * as a failed one (maintenance, method_failed), ignoring its late answer.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Paths } from "../../src/paths.ts";
import { DOMAINS_FMRI, DOMAINS_INSTANCE, DOMAINS_SERVICE, setProp } from "../../src/smf/model.ts";
import { Repository } from "../../src/smf/repository.ts";
import { readStatus } from "../../src/smf/restarter/record.ts";
import { TransientSupervisor, type TransientMethod } from "../../src/smf/restarter/transient.ts";
import { waitFor } from "../helpers/cli.ts";

let root = "";
let repo: Repository;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-transient-"));
  repo = new Repository(new Paths(root));
  repo.read();
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const stored = () => readStatus(repo.read().services[DOMAINS_SERVICE]!.instances[DOMAINS_INSTANCE]!);
const until = (check: () => boolean, what: string) => waitFor(() => check() || undefined, what, 10_000, 10);

function supervisor(start: TransientMethod, stop: TransientMethod, deps: { ok: boolean }) {
  return new TransientSupervisor({
    paths: new Paths(root), repo, service: DOMAINS_SERVICE, instance: DOMAINS_INSTANCE,
    start, stop, depsSatisfied: () => deps.ok, warn: () => undefined,
  });
}

describe("a transient service under the restarter", () => {
  it("waits for its dependency, starts, and on the dependency's stop runs its stop before settled() resolves", async () => {
    const calls: string[] = [];
    let release!: () => void;
    const stopGate = new Promise<void>((r) => (release = r));
    const deps = { ok: false };
    const sup = supervisor(async () => (calls.push("start"), ["Domain web (1) started"]), async () => {
      calls.push("stop");
      await stopGate;
      return ["Domain web (1) shut down (on_xend_stop = shutdown)"];
    }, deps);
    sup.boot(true);
    sup.poll();
    expect([stored().state, calls]).toEqual(["offline", []]);
    deps.ok = true;
    sup.dispatch({ type: "dependencies" });
    await until(() => stored().state === "online", "online");
    expect(calls).toEqual(["start"]);

    deps.ok = false;
    let settled = false;
    const done = sup.settled().then(() => (settled = true));
    await until(() => calls.length === 2, "the stop method");
    expect(settled).toBe(false);
    release();
    await done;
    expect([stored().state, stored().nextState]).toEqual(["offline", "none"]);
    const log = readFileSync(new Paths(root).serviceLog(DOMAINS_FMRI), "utf8").split("\n").map((l) => l.replace(/^\[ .{15} /, "[ "));
    expect(log).toEqual([
      "[ Enabled. ]",
      '[ Executing start method ("xvm xend domains start"). ]',
      "Domain web (1) started",
      '[ Method "start" exited with status 0. ]',
      "[ Stopping because dependency activity requires stop. ]",
      '[ Executing stop method ("xvm xend domains stop"). ]',
      "Domain web (1) shut down (on_xend_stop = shutdown)",
      '[ Method "stop" exited with status 0. ]',
      "",
    ]);
    sup.close();
  });

  it("a start method that outlives start/timeout_seconds is killed (maintenance, method_failed); its late answer is ignored", async () => {
    repo.update((d) => {
      const inst = d.services[DOMAINS_SERVICE]!.instances[DOMAINS_INSTANCE]!;
      setProp(inst.snapshots.running!, "start", "timeout_seconds", "count", ["1"], "method");
    });
    let answer!: (lines: string[]) => void;
    const sup = supervisor(() => new Promise<string[]>((r) => (answer = r)), async () => [], { ok: true });
    sup.boot(true);
    sup.poll();
    await until(() => stored().state === "maintenance", "maintenance");
    expect(stored().aux).toBe("method_failed");
    answer(["too late"]);
    // One turn of the event loop: the late answer's handlers have run.
    await new Promise((r) => setImmediate(r));
    expect(stored().state).toBe("maintenance");
    expect(readFileSync(new Paths(root).serviceLog(DOMAINS_FMRI), "utf8")).toMatch(/Method or service exit timed out\.  Killing contract 0\. \]\n\[ .{15} Method "start" failed due to signal KILL\. \]\n$/);
    sup.close();
  });
});
