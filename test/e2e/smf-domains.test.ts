/**
 * The companion service svc:/system/xvm/domains:default (issue 15.9), through the compiled binary
 * on a temporary root with a restarter: svcs -d / -D and the dependency line of svcs -l, managed
 * domains started by the service's start when xend comes up (on_xend_start = start) and stopped by
 * its stop before xend goes down (on_xend_stop = shutdown: gone; suspend: a checkpoint in the
 * domain's folder that the next start resumes, the counter going on; ignore: left running), the
 * same through `svcadm disable/enable domains` with xend staying up, and the service log's lines.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Paths } from "../../src/paths.ts";
import { DOMAINS_INSTANCE, DOMAINS_SERVICE } from "../../src/smf/model.ts";
import { Repository } from "../../src/smf/repository.ts";
import { readStatus } from "../../src/smf/restarter/record.ts";
import { cleanupRoot, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { lastHeartbeat, listMap, startXend } from "../helpers/xm.ts";

const XEND = "svc:/system/xvm/xend:default";
const DOMAINS = "svc:/system/xvm/domains:default";
const STIME = "[ \\d]\\d:\\d\\d:\\d\\d";
let root = "";

const x = (...args: string[]) => run(args, { root, timeoutMs: 60_000 });
const ok = (...args: string[]) => {
  const r = x(...args);
  expect(r, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
  return r.stdout;
};
const domainsStatus = () => readStatus(new Repository(new Paths(root)).read().services[DOMAINS_SERVICE]!.instances[DOMAINS_INSTANCE]!);
const settled = (state: string) => () => {
  const s = domainsStatus();
  return s.state === state && s.nextState === "none";
};
/** Restarter lines of the domains service's log, without timestamps, and the methods' own lines. */
const domainsLog = () => readFileSync(join(root, "var/svc/log/system-xvm-domains:default.log"), "utf8").split("\n").filter(Boolean)
  .map((l) => l.replace(/^\[ \w{3} [ \d]\d \d\d:\d\d:\d\d (.*) \]$/, "[ $1 ]"));
const uuidOf = (name: string) => /\(uuid ([0-9a-f-]+)\)/.exec(ok("xm", "list", "-l", name))![1]!;
const checkpoint = (uuid: string) => join(root, "var/lib/xend/domains", uuid, "checkpoint.chk");
/** name -> state word of `xm list` ("running" for r/b, "off" when inactive, else the flags). */
function states(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(listMap(root))) {
    if (name === "Domain-0") continue;
    const [id, flags] = v.split(" ");
    out[name] = id === "" || id === undefined || flags === undefined ? "off" : /[rb]/.test(flags) ? "running" : flags;
  }
  return out;
}

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-smf-domains-"), { relocation: false });
  const cfg = (name: string, kernel: string, extra: string) => `name = "${name}"\nkernel = "${kernel}"\nmemory = 32\n${extra}\n`;
  writeFileSync(join(root, "web.cfg"), cfg("web", "sim:idle", 'on_xend_start = "start"\non_xend_stop = "shutdown"'));
  writeFileSync(join(root, "ctr.cfg"), cfg("ctr", "sim:counter", 'on_xend_start = "start"\non_xend_stop = "suspend"'));
  writeFileSync(join(root, "keep.cfg"), cfg("keep", "sim:idle", 'on_xend_stop = "ignore"'));
});

afterAll(async () => {
  await cleanupRoot(root);
});

describe("the service and its dependency", () => {
  it("is in the repository: svcs -a lists it, waiting offline for a disabled xend", () => {
    expect(ok("svcs", "-H", "-a", "-o", "state,fmri")).toBe(
      `disabled       ${XEND}\noffline        svc:/system/svc/restarter:default\noffline        ${DOMAINS}\n`,
    );
    expect(ok("svcs", "-H", "-o", "state,fmri")).toBe(`offline        svc:/system/svc/restarter:default\noffline        ${DOMAINS}\n`);
  });

  it("svcs -d shows xend, svcs -D shows domains, in svcs's STATE STIME FMRI format", () => {
    expect(ok("svcs", "-d", DOMAINS)).toMatch(new RegExp(`^STATE {10}STIME {4}FMRI\\ndisabled {7}${STIME} ${XEND}\\n$`));
    expect(ok("svcs", "-D", "xend")).toMatch(new RegExp(`^STATE {10}STIME {4}FMRI\\noffline {8}${STIME} ${DOMAINS}\\n$`));
    expect(ok("svcs", "-H", "-D", "xend")).toMatch(new RegExp(`^offline {8}${STIME} ${DOMAINS}\\n$`));
    expect(ok("svcs", "-H", "-o", "fmri", "-d", "domains")).toBe(`${XEND}\n`);
    // Nothing depends on domains; xend depends on nothing; both still header-only listings.
    expect(x("svcs", "-D", "domains")).toEqual({ code: 0, stdout: "STATE          STIME    FMRI\n", stderr: "" });
    expect(x("svcs", "-d", "xend")).toEqual({ code: 0, stdout: "STATE          STIME    FMRI\n", stderr: "" });
    expect(x("svcs", "-d", "nosuch")).toEqual({ code: 1, stdout: "STATE          STIME    FMRI\n", stderr: "svcs: Pattern 'nosuch' doesn't match any instances\n" });
    expect(x("svcs", "-d").code).toBe(2);
  });

  it("svcs -l shows the dependency with its state; svcs -x names xend as the reason and xend's impact", () => {
    expect(ok("svcs", "-l", "domains")).toContain(`\ndependency   require_all/restart ${XEND} (disabled)\n`);
    expect(ok("svcs", "-x", "domains")).toContain(`Reason: Service ${XEND} is disabled.\n   See: http://sun.com/msg/SMF-8000-GE\n`);
    const whole = ok("svcs", "-x");
    expect(whole).toContain(`${XEND} (xVM control daemon)\n State: disabled since `);
    expect(whole).toContain("Impact: 1 dependent service is not running.  (Use -v for list.)\n");
    expect(whole).not.toContain(`${DOMAINS} (`);
    expect(ok("svcs", "-xv", "xend")).toContain(`Impact: 1 dependent service is not running:\n        ${DOMAINS}\n`);
  });
});

describe("managed domains follow the services", () => {
  let ctrUuid = "";
  let keepId = "";

  it("comes online after xend; domains defined later start when the service restarts", async () => {
    ok("svcadm", "enable", "-s", "xend");
    await waitFor(settled("online"), "domains online");
    for (const name of ["web", "ctr", "keep"]) ok("xm", "new", join(root, `${name}.cfg`));
    ok("xm", "start", "keep");
    keepId = listMap(root).keep!.split(" ")[0]!;
    expect(states()).toEqual({ ctr: "off", keep: "running", web: "off" });
    ctrUuid = uuidOf("ctr");

    ok("svcadm", "restart", "domains");
    await waitFor(() => states().web === "running" && states().ctr === "running" ? true : undefined, "web and ctr started by the domains service", 30_000);
    await waitFor(settled("online"), "domains online again");
    expect(states()).toEqual({ ctr: "running", keep: "running", web: "running" });
    expect(listMap(root).keep!.split(" ")[0]).toBe(keepId);
    expect(ok("svcs", "-H", "-o", "state,fmri", "-d", "domains")).toBe(`online         ${XEND}\n`);
    expect(ok("svcs", "-H", "-o", "state,fmri", "-D", "xend")).toBe(`online         ${DOMAINS}\n`);
  });

  it("svcadm disable xend: domains stops first — web shut down, ctr suspended to its checkpoint, keep left running", async () => {
    await waitFor(async () => ((await lastHeartbeat(root, "ctr")) >= 2 ? true : undefined), "ctr to count", 30_000);
    ok("svcadm", "disable", "-s", "xend");
    expect(ok("svcs", "-H", "-o", "state,fmri", "xend", "domains")).toBe(`disabled       ${XEND}\noffline        ${DOMAINS}\n`);
    expect(existsSync(checkpoint(ctrUuid))).toBe(true);
    const log = domainsLog();
    const stop = log.lastIndexOf("[ Stopping because dependency activity requires stop. ]");
    expect(stop).toBeGreaterThan(0);
    expect(log.slice(stop, stop + 2)).toEqual([
      "[ Stopping because dependency activity requires stop. ]",
      '[ Executing stop method ("xvm xend domains stop"). ]',
    ]);
    expect(log.slice(stop + 2, stop + 5).sort()).toEqual([
      expect.stringMatching(/^Domain ctr \(\d+\) suspended \(on_xend_stop = suspend\)$/),
      expect.stringMatching(/^Domain keep \(\d+\) continues to run \(on_xend_stop = ignore\)$/),
      expect.stringMatching(/^Domain web \(\d+\) shut down \(on_xend_stop = shutdown\)$/),
    ]);
    expect(log[stop + 5]).toBe('[ Method "stop" exited with status 0. ]');
    // xend's log says what it did, before it stopped.
    const xendLog = readFileSync(join(root, "var/log/xen/xend.log"), "utf8");
    expect(xendLog).toMatch(/Domain web \(\d+\): on_poweroff = destroy\n/);
    expect(xendLog).toMatch(/Domain ctr \(\d+\) saved to .*checkpoint\.chk/);
  });

  it("svcadm enable xend: web starts afresh, ctr resumes from its checkpoint (counting on), keep was never stopped", async () => {
    ok("svcadm", "enable", "-s", "xend");
    await waitFor(settled("online"), "domains online");
    expect(states()).toEqual({ ctr: "running", keep: "running", web: "running" });
    expect(listMap(root).keep!.split(" ")[0]).toBe(keepId);
    expect(existsSync(checkpoint(ctrUuid))).toBe(false);
    const log = domainsLog();
    const start = log.lastIndexOf('[ Executing start method ("xvm xend domains start"). ]');
    expect(log.slice(start + 1, start + 3).sort()).toEqual([
      expect.stringMatching(/^Domain ctr \(\d+\) resumed$/),
      expect.stringMatching(/^Domain web \(\d+\) started$/),
    ]);
    expect(log[start + 3]).toBe('[ Method "start" exited with status 0. ]');
    // Resumed, not restarted: its counter goes on from where the checkpoint left it.
    const beat = await waitFor(async () => { const b = await lastHeartbeat(root, "ctr"); return b >= 0 ? b : undefined; }, "ctr beats", 30_000);
    expect(beat).toBeGreaterThanOrEqual(2);
  });

  it("svcadm disable domains runs the stop with xend up; enable starts them again; xend stays online", async () => {
    const xendPid = Number(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8"));
    ok("svcadm", "disable", "-s", "domains");
    // xm list shows a suspended domain as an inactive one; its checkpoint tells them apart.
    expect(states()).toEqual({ ctr: "off", keep: "running", web: "off" });
    expect(existsSync(checkpoint(ctrUuid))).toBe(true);
    expect(ok("svcs", "-H", "-o", "state,fmri", "xend", "domains")).toBe(`online         ${XEND}\ndisabled       ${DOMAINS}\n`);
    ok("svcadm", "enable", "-s", "domains");
    expect(states()).toEqual({ ctr: "running", keep: "running", web: "running" });
    expect(existsSync(checkpoint(ctrUuid))).toBe(false);
    expect(Number(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8"))).toBe(xendPid);
  });
});

describe("restarts and a deleted service", () => {
  const idOf = (name: string) => listMap(root)[name]!.split(" ")[0]!;
  const xendPid = () => Number(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8"));

  it("svcadm restart xend: on_xend_stop before the old daemon stops, the start after the new one is up", async () => {
    const [web, keep, pid] = [idOf("web"), idOf("keep"), xendPid()];
    ok("svcadm", "restart", "xend");
    await waitFor(() => {
      try {
        return xendPid() !== pid && settled("online")() && states().web === "running" && states().ctr === "running" ? true : undefined;
      } catch {
        return undefined;
      }
    }, "a new xend with web and ctr back", 30_000);
    expect(idOf("web")).not.toBe(web);
    expect(idOf("keep")).toBe(keep);
    expect(existsSync(checkpoint(uuidOf("ctr")))).toBe(false);
    const log = domainsLog();
    const stop = log.lastIndexOf("[ Stopping because dependency activity requires stop. ]");
    expect(log.slice(stop + 2, stop + 5).some((l) => /^Domain ctr \(\d+\) suspended/.test(l))).toBe(true);
  });

  it("svccfg delete -f domains: xend does on_xend_start/on_xend_stop itself again; svccfg import brings the service back", async () => {
    const manifest = join(root, "domains.xml");
    ok("svccfg", "export", "domains", ">", manifest);
    expect(x("svccfg", "delete", "domains")).toEqual({ code: 1, stdout: "", stderr: `svccfg: Instance "${DOMAINS}" may be running.  Use delete -f if it is not.\n` });
    ok("svccfg", "delete", "-f", "domains");
    expect(ok("svcs", "-D", "xend")).toBe("STATE          STIME    FMRI\n");
    const [web, pid] = [idOf("web"), xendPid()];
    ok("svcadm", "restart", "xend");
    await waitFor(() => {
      try {
        return xendPid() !== pid && states().web === "running" && states().ctr === "running" ? true : undefined;
      } catch {
        return undefined;
      }
    }, "a new xend that started web and resumed ctr itself", 30_000);
    expect(idOf("web")).not.toBe(web);
    const xendLog = readFileSync(join(root, "var/log/xen/xend.log"), "utf8");
    expect(xendLog.slice(xendLog.lastIndexOf("xend stopping"))).toMatch(/Shutting down domain web \(\d+\) \(on_xend_stop = shutdown\)\n(.*\n)*.*started managed domain web \(\d+\) \(on_xend_start = start\)\n/);

    ok("svccfg", "import", manifest);
    await waitFor(settled("online"), "the imported service online under the running restarter", 30_000);
    expect(ok("svcs", "-H", "-o", "state,fmri", "-D", "xend")).toBe(`online         ${DOMAINS}\n`);
  });
});

describe("without a restarter, and svcadm's dependency rules", () => {
  let fg = "";

  beforeAll(() => {
    fg = prepareRoot(tempRoot("xvm-smf-domains-fg-"), { relocation: false });
    writeFileSync(join(fg, "auto.cfg"), 'name = "auto"\nkernel = "sim:idle"\nmemory = 32\non_xend_start = "start"\non_xend_stop = "shutdown"\n');
    writeFileSync(join(fg, "stay.cfg"), 'name = "stay"\nkernel = "sim:idle"\nmemory = 32\n');
  });

  afterAll(async () => {
    await cleanupRoot(fg);
  });

  const inFg = (...args: string[]) => run(args, { root: fg, timeoutMs: 60_000 });
  const fgStates = () => Object.fromEntries(Object.entries(listMap(fg)).filter(([n]) => n !== "Domain-0").map(([n, v]) => [n, v.startsWith(" ") ? "off" : "running"]));

  it("a foreground xend (no restarter) applies on_xend_start when it starts and on_xend_stop when it stops, as xend 3.4 did", async () => {
    let xend = await startXend(fg);
    expect(inFg("svcs", "-x", "domains").stdout).toContain(`Reason: Its dependency ${XEND} runs outside the restarter (started by hand); that daemon does this service's work itself.\n`);
    expect(inFg("xm", "new", join(fg, "auto.cfg"))).toMatchObject({ code: 0 });
    expect(inFg("xm", "create", join(fg, "stay.cfg"))).toMatchObject({ code: 0 });
    expect(fgStates()).toEqual({ auto: "off", stay: "running" });
    // `xvm xend domains start|stop`: the service's methods, by hand.
    expect(inFg("xend", "domains", "start")).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Domain auto \(\d+\) started\n$/), stderr: "" });
    expect(inFg("xend", "domains", "stop")).toMatchObject({
      code: 0, stderr: "",
      stdout: expect.stringMatching(/^(Domain auto \(\d+\) shut down \(on_xend_stop = shutdown\)\nDomain stay \(\d+\) continues to run \(on_xend_stop = ignore\)\n|Domain stay \(\d+\) continues to run \(on_xend_stop = ignore\)\nDomain auto \(\d+\) shut down \(on_xend_stop = shutdown\)\n)$/),
    });
    expect(fgStates()).toEqual({ auto: "off", stay: "running" });
    expect(inFg("xend", "domains", "restart")).toMatchObject({ code: 1, stderr: "xend: 'restart' is not start or stop\n" });

    // A new daemon starts auto itself (no restarter, so no svc:/system/xvm/domains to do it)...
    process.kill(xend.pid, "SIGTERM");
    await xend.exited;
    xend = await startXend(fg);
    expect(fgStates()).toEqual({ auto: "running", stay: "running" });
    // ...and shuts it down when stopped; stay (ignore) outlives it.
    process.kill(xend.pid, "SIGTERM");
    expect(await xend.exited).toEqual([0, null]);
    const log = readFileSync(join(fg, "var/log/xen/xend.log"), "utf8");
    expect(log).toMatch(/Shutting down domain auto \(\d+\) \(on_xend_stop = shutdown\)\n(.*\n)*.*Domain auto \(\d+\) destroyed\n(.*\n)*.*xend stopped \(exit 0\)\n/);
    xend = await startXend(fg);
    expect(fgStates()).toEqual({ auto: "running", stay: "running" });
    process.kill(xend.pid, "SIGTERM");
    await xend.exited;
  });

  it("svcadm enable -s domains while xend is disabled: unsatisfied dependencies, exit 4; enable -r enables xend too", async () => {
    expect(inFg("svcadm", "disable", "domains")).toMatchObject({ code: 0 });
    expect(inFg("svcadm", "enable", "-s", "domains")).toEqual({
      code: 4, stdout: "", stderr: `svcadm: Instance "${DOMAINS}" has unsatisfied dependencies.\n`,
    });
    expect(inFg("svcadm", "-v", "enable", "-rs", "domains")).toEqual({ code: 0, stdout: `${DOMAINS} enabled.\n${XEND} enabled.\n`, stderr: "" });
    expect(inFg("svcs", "-H", "-o", "state,fmri", "xend", "domains").stdout).toBe(`online         ${XEND}\nonline         ${DOMAINS}\n`);
    expect(fgStates()).toEqual({ auto: "running", stay: "running" });
    expect(inFg("svcadm", "disable", "-s", "xend")).toMatchObject({ code: 0 });
    expect(readFileSync(join(fg, "var/svc/log/system-xvm-domains:default.log"), "utf8")).toMatch(/\nDomain auto \(\d+\) shut down \(on_xend_stop = shutdown\)\n/);
  });
});

describe("a wedged xend", () => {
  let hung = "";

  beforeAll(() => {
    hung = prepareRoot(tempRoot("xvm-smf-domains-hung-"), { relocation: false });
  });

  afterAll(async () => {
    await cleanupRoot(hung);
  });

  it("does not hold the domains stop for the method's whole timeout: the stop asks it first, then leaves the domains", async () => {
    const inHung = (...args: string[]) => run(args, { root: hung, timeoutMs: 120_000 });
    expect(inHung("svccfg", "-s", "xend", "setprop", "stop/timeout_seconds", "=", "2")).toMatchObject({ code: 0 });
    expect(inHung("svcadm", "refresh", "xend")).toMatchObject({ code: 0 });
    expect(inHung("svcadm", "enable", "-s", "xend")).toMatchObject({ code: 0 });
    const status = () => readStatus(new Repository(new Paths(hung)).read().services[DOMAINS_SERVICE]!.instances[DOMAINS_INSTANCE]!);
    await waitFor(() => status().state === "online" && status().nextState === "none", "domains online");
    const pid = Number(readFileSync(join(hung, "var/run/xend/xend.pid"), "utf8"));
    process.kill(pid, "SIGSTOP");
    expect(inHung("svcadm", "disable", "-s", "xend")).toEqual({ code: 0, stdout: "", stderr: "" });
    const log = readFileSync(join(hung, "var/svc/log/system-xvm-domains:default.log"), "utf8");
    expect(log).toMatch(/\nxend does not answer \(request timed out after 5000 ms\): its domains are left as they are\.\n\[ .{15} Method "stop" exited with status 0\. \]\n$/);
    expect(inHung("svcs", "-H", "-o", "state,fmri", "xend", "domains").stdout).toBe(`disabled       ${XEND}\noffline        ${DOMAINS}\n`);
  });
});
