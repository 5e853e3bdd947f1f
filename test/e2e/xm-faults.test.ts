/**
 * issue 13 §3: what `xm` says when xend cannot answer. A stopped xend (SIGSTOP: the kernel still
 * queues the connection) makes xm give up after its idle timeout with `xend is not answering on …`
 * instead of waiting forever; an xend killed while it handles `xm create` makes xm say what it
 * knows ("xend went away; the domain may exist: xm list").
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupRoot, pidAlive, processesOfRoot, run, runAsync, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { lastHeartbeat, listRows, startXend, xm, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");

/** Kills xend with SIGKILL (its guests live on) and waits until it is gone. */
async function killXend(xend: Xend): Promise<void> {
  process.kill(xend.pid, "SIGKILL");
  await waitFor(() => !pidAlive(xend.pid), "xend to die", 10_000);
}

const roots: string[] = [];
const daemons: Xend[] = [];

afterAll(async () => {
  for (const d of daemons) {
    try {
      process.kill(d.pid, "SIGCONT");
    } catch {
      // gone already
    }
  }
  for (const r of roots) await cleanupRoot(r, daemons.map((d) => d.pid));
});

function newRoot(): string {
  const r = prepareRoot(tempRoot("xvm-xm-faults-"), { relocation: false });
  roots.push(r);
  return r;
}

describe("a hung xend", () => {
  it("makes xm give up after XVM_XM_TIMEOUT with a clear message, and answers again once continued", async () => {
    const root = newRoot();
    const xend = await startXend(root);
    daemons.push(xend);
    process.kill(xend.pid, "SIGSTOP");
    try {
      const started = Date.now();
      const r = run(["xm", "list"], { root, env: { XVM_XM_TIMEOUT: "2" } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(`Error: xend is not answering on ${root}/var/run/xend/control.sock (no reply in 2 s; is it stopped? see svcs -p xend)\n`);
      // Gave up on its own (the run() timeout is 60 s).
      expect(Date.now() - started).toBeLessThan(50_000);
    } finally {
      process.kill(xend.pid, "SIGCONT");
    }
    expect(xm(root, "list").code).toBe(0);
  });
});

describe("xend killed with -9 in the middle of xm create", () => {
  async function createKilledAt(point: string): Promise<{ root: string; answer: { code: number; stdout: string; stderr: string } }> {
    const root = newRoot();
    mkdirSync(join(root, "etc/xen"), { recursive: true });
    copyFileSync(join(repo, "examples/counter.cfg"), join(root, "etc/xen/counter.cfg"));
    const xend = await startXend(root, { XVM_TEST_FAULTS: "1", XVM_TEST_HOLD: point });
    daemons.push(xend);
    const pending = runAsync(["xm", "create", "counter.cfg", "name=k1"], { root });
    const hold = join(root, "var/run/xend", `hold-${point}`);
    await waitFor(() => existsSync(hold), `xend to reach ${point}`, 60_000);
    expect(Number(readFileSync(hold, "utf8"))).toBe(xend.pid);
    await killXend(xend);
    return { root, answer: await pending };
  }

  const wentAway = "Error: xend went away; the domain may exist: xm list\n";

  it("after the hypervisor started the guest: xm says so; the next xend has the domain, whole and running", async () => {
    const { root, answer } = await createKilledAt("create.after-driver");
    expect(answer).toEqual({ code: 1, stdout: `Using config file "${root}/etc/xen/counter.cfg".\n`, stderr: wentAway });
    daemons.push(await startXend(root));
    const row = listRows(root).find((r) => r.name === "k1");
    expect(row).toMatchObject({ id: "1", mem: 128, vcpus: 1 });
    const beat = await lastHeartbeat(root, "k1");
    await waitFor(async () => (await lastHeartbeat(root, "k1")) > beat, "k1's counter to advance", 30_000, 100);
    // Exactly one copy: one runner for domain 1.
    expect(processesOfRoot(root).filter((p) => p.args.includes("__runner")).length).toBe(1);
    expect(xm(root, "create", "counter.cfg", "name=k2").stdout).toContain("Started domain k2 (id=2)");
  });

  it("before the hypervisor was asked: xm says so; the next xend has no such domain and never reuses its id", async () => {
    const { root, answer } = await createKilledAt("create.before-driver");
    expect(answer.code).toBe(1);
    expect(answer.stderr).toBe(wentAway);
    daemons.push(await startXend(root));
    expect(listRows(root).map((r) => r.name)).toEqual(["Domain-0"]);
    expect(processesOfRoot(root).filter((p) => p.args.includes("__runner"))).toEqual([]);
    expect(xm(root, "create", "counter.cfg", "name=k1").stdout).toContain("Started domain k1 (id=2)");
  });
});
