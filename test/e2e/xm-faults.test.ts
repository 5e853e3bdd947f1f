/**
 * issue 13 §3: what `xm` says when xend cannot answer. A stopped xend (SIGSTOP: the kernel still
 * queues the connection) makes xm give up after its idle timeout with `xend is not answering on …`
 * instead of waiting forever; an xend killed while it handles `xm create` makes xm say what it
 * knows ("xend went away; the domain may exist: xm list").
 */
import { afterAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { startXend, xm, type Xend } from "../helpers/xm.ts";

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
