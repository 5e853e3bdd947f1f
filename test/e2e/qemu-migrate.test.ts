/**
 * Live migration of a real QEMU guest (TCG) between two xend hosts of the compiled binary on one
 * machine, through the relocation plugin: the guest's memory arrives (a file written in its
 * RAM-backed root before is read back after), nothing is left on the source, and a destination
 * killed mid-stream leaves the guest running on the source under its own name and nothing on the
 * destination once its xend is back. The downtime target (config/xend-relocation-max-downtime), the
 * bandwidth cap (-r) and auto-converge are checked as QEMU reports them back; a destination QEMU
 * killed mid-stream (its xend alive), the stream's TCP connection cut (`ss -K`) or the source's xend
 * killed (its QEMU holding the stream on) also leaves the guest running on the source and nothing there.
 * The stream's connection is handed to QEMU at both ends (QMP getfd); a paused guest moved
 * without --live with both ends relaying instead has the same memory digest (SHA-256 of every
 * page, read through QEMU's memfd) at both ends.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cleanupRoot, pidAlive, waitFor } from "../helpers/cli.ts";
import { GUEST_DIR, INIT_READY, ensureGuest, guestConfig, qemuSkipReason } from "../helpers/qemu-guest.ts";
import { background, consoleText, createGuest, domains, ok, restartHost, startHost, uuidOf, type Host } from "../helpers/relocation.ts";

const skip = qemuSkipReason();
if (skip) console.warn(`qemu migration e2e tests skipped: ${skip}`);

/** The guest's kernel and ramdisk are host paths: the destination must allow their folder. */
const QEMU_PROPS = {
  hypervisor: "qemu", "qemu-accel": "tcg", "enable-dump": "false", "xend-relocation-paths-allow": GUEST_DIR, "xend-relocation-max-downtime": "250",
};

interface Limits {
  downtimeLimitMs: number;
  maxBandwidth: number;
  autoConverge: boolean;
}
interface MigrationRecord {
  direction: string;
  domain: string;
  status: string;
  progress?: { limits?: Limits };
  stats?: { limits?: Limits };
  error?: string;
}
/** a gives a stalled stream up after 8 s instead of 30 (the stall test). */
const A_ENV = { XVM_RELOCATION_STREAM_TIMEOUT_MS: "8000" };
/** Host b runs its QEMUs as nobody (config/qemu-user) where xend runs as root. */
const asRoot = process.getuid?.() === 0;
const NOBODY = asRoot ? Number(spawnSync("id", ["-u", "nobody"], { encoding: "utf8" }).stdout.trim()) : NaN;

describe.skipIf(skip !== undefined)(`qemu live migration between two xend hosts${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let a: Host;
  let b: Host;

  const shell = async (h: Host, dom: string, command: string, marker: string) => {
    await h.api("POST", `/domains/${dom}/console`, { data: `${command}\n` });
    await waitFor(async () => (await consoleText(h, dom)).includes(marker), `${marker} on ${dom}'s console`, 30_000, 100);
  };
  const qemuDirs = (h: Host) => {
    const dir = join(h.root, "var/run/xend/qemu");
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  /** xm migrate m1 from b to a in the background, once its stream runs; -r 16 (Mbit/s) keeps it going for seconds. */
  const slowMigrationToA = async () => {
    const m = background(b.root, ["xm", "migrate", "--live", "-r", "16", "-p", String(a.port), "m1", "127.0.0.1"]);
    await waitFor(() => qemuDirs(a).length > 0 && m.lines.some((l) => /^Migrating m1: /.test(l)), "the stream to run", 60_000, 50);
    return m;
  };

  /** Kills a host's xend (by pid) and starts it again with `env`. */
  const restartAt = async (h: Host, env: Record<string, string> = {}) => {
    const pid = h.xend.pid;
    process.kill(pid, "SIGKILL");
    await waitFor(() => !pidAlive(pid), "xend to die", 10_000);
    // A hold file left by an earlier daemon would say this one holds before it does.
    for (const point of (env.XVM_TEST_HOLD ?? "").split(",").filter(Boolean)) rmSync(join(h.root, "var/run/xend", `hold-${point}`), { force: true });
    await restartHost(h, env);
  };
  /** A fault point's hold file: that xend waits there (XVM_TEST_HOLD). */
  const held = (h: Host, point: string) => existsSync(join(h.root, "var/run/xend", `hold-${point}`));
  const bootOn = async (h: Host, name: string) => {
    createGuest(h, name, guestConfig(name, ["memory = 128"]).replace(/^name = .*\n/, ""));
    await waitFor(async () => (await consoleText(h, name)).includes(INIT_READY), `${name} to boot`, 90_000, 200);
  };

  beforeAll(async () => {
    ensureGuest();
    [a, b] = await Promise.all([startHost("qa", QEMU_PROPS, A_ENV), startHost("qb", { ...QEMU_PROPS, ...(asRoot ? { "qemu-user": "nobody" } : {}) })]);
    // QEMU as nobody must pass through b's state root (a private temporary folder) to its run folder.
    if (asRoot) chmodSync(b.root, 0o711);
  });

  afterAll(async () => {
    for (const h of [a, b]) if (h) await cleanupRoot(h.root, [h.xend.pid]);
  });

  test("xm migrate --live moves a running guest: its memory arrives, it runs there, nothing stays here", async () => {
    createGuest(a, "m1", guestConfig("m1", ["memory = 128"]).replace(/^name = .*\n/, ""));
    await waitFor(async () => (await consoleText(a, "m1")).includes(INIT_READY), "m1 to boot", 90_000, 200);
    await shell(a, "m1", "echo carried-$((40+2)) > /tmp/mark; echo written", "written");
    const uuid = await uuidOf(a, "m1");
    const r = a.x("xm", "migrate", "--live", "-p", String(b.port), "m1", "127.0.0.1");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Migration of m1 to 127\.0\.0\.1:\d+ completed \(live\): it is domain \d+ there\.$/m);
    expect(r.stdout).toMatch(/^Migration status: completed$/m);
    // QEMU counts every RAM block (guest RAM plus firmware and option ROMs).
    expect(Number(/^total ram: (\d+) kbytes$/m.exec(r.stdout)?.[1])).toBeGreaterThanOrEqual(131072);
    expect(r.stdout).toMatch(/^Migrating m1: round \d+, \d+%/m);
    // The stream connection itself went to QEMU (QMP getfd), no relay in xend.
    expect(r.stdout).toMatch(/^stream: handed to QEMU$/m);

    expect(domains(a).has("m1")).toBe(false);
    expect([...domains(a).keys()]).toEqual(["Domain-0"]);
    expect(qemuDirs(a)).toEqual([]);
    expect(domains(b).get("m1")?.state).toMatch(/^(r-|-b)----$/);
    expect(await uuidOf(b, "m1")).toBe(uuid);
    await shell(b, "m1", "cat /tmp/mark", "carried-42");
    // The limits QEMU itself reports (query-migrate-parameters/-capabilities): the downtime target
    // from config/xend-relocation-max-downtime, no bandwidth cap without -r (not QEMU's default
    // 128 MiB/s), auto-converge on.
    const out = (await a.api<{ migrations: MigrationRecord[] }>("GET", "/plugins/relocation/migrations")).migrations.find((m) => m.direction === "out");
    expect(out?.stats?.limits).toEqual({ downtimeLimitMs: 250, maxBandwidth: 64 * 1024 ** 3, autoConverge: true });
    if (asRoot) {
      // b's QEMU runs as nobody, started that way (the sandbox denies QEMU any setuid itself).
      const pid = (await b.api<{ pid: number }>("GET", "/domains/m1")).pid;
      expect(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]).toBe(String(NOBODY));
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).toEqual(expect.arrayContaining(["-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"]));
    }
  }, 180_000);

  test("the destination's xend killed mid-stream: the guest runs on at the source, nothing is left at the destination", async () => {
    const m = await slowMigrationToA();
    // -r 16 reached QEMU as 2,000,000 bytes/s, as QEMU reports it while the stream runs.
    const running = (await b.api<{ migrations: MigrationRecord[] }>("GET", "/plugins/relocation/migrations")).migrations.find((r) => r.status === "active");
    expect(running?.progress?.limits).toEqual({ downtimeLimitMs: 250, maxBandwidth: 2_000_000, autoConverge: true });
    const aPid = a.xend.pid;
    process.kill(aPid, "SIGKILL");
    await waitFor(() => !pidAlive(aPid), "a's xend to die", 10_000);
    const res = await m.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/migration of m1 failed|Migration of m1/i);
    await waitFor(() => /^(r-|-b)----$/.test(domains(b).get("m1")?.state ?? ""), "m1 running again on b", 30_000, 100);
    expect([...domains(b).keys()]).toEqual(["Domain-0", "m1"]);
    await shell(b, "m1", "echo still-$((6*7))", "still-42");

    await restartHost(a, A_ENV);
    expect([...domains(a).keys()]).toEqual(["Domain-0"]);
    await waitFor(() => qemuDirs(a).length === 0, "a's incoming QEMU folder to go", 10_000);
  }, 180_000);

  test("the destination's QEMU killed mid-stream (its xend alive): the guest runs on at the source, the destination drops it", async () => {
    const m = await slowMigrationToA();
    const dir = join(a.root, "var/run/xend/qemu", qemuDirs(a)[0]!);
    const qemu = (JSON.parse(readFileSync(join(dir, "guest.json"), "utf8")) as { pid: number }).pid;
    process.kill(qemu, "SIGKILL");
    const res = await m.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Error: migration of m1 failed: /m);
    await waitFor(() => /^(r-|-b)----$/.test(domains(b).get("m1")?.state ?? ""), "m1 running again on b", 30_000, 100);
    await shell(b, "m1", "echo still-here-$((6*7))", "still-here-42");
    // Without an xend restart: the half-arrived domain is gone, and it never counted as a crash.
    await waitFor(() => domains(a).size === 1 && qemuDirs(a).length === 0, "a to drop the incoming domain", 30_000, 100);
    expect([...domains(a).keys()]).toEqual(["Domain-0"]);
    expect(ok(a.x("xm", "log"))).not.toMatch(/Domain m1 \(\d+\) crashed/);
  }, 180_000);

  // ss -K (SOCK_DESTROY) needs CAP_NET_ADMIN.
  test.skipIf(!asRoot)("the stream's TCP connection cut mid-stream (ss -K): the guest runs on at the source, the destination drops it", async () => {
    const m = await slowMigrationToA();
    // b's xend has two connections to a: the relocation channel (a.port) and the stream.
    const streamPorts = () => spawnSync("ss", ["-tnpH", "state", "established"], { encoding: "utf8" }).stdout.split("\n")
      .filter((l) => l.includes(`pid=${b.xend.pid},`))
      .map((l) => Number(/\s127\.0\.0\.1:(\d+)\s+users:/.exec(l)?.[1]))
      .filter((p) => p > 0 && p !== a.port);
    const [port] = await waitFor(() => (streamPorts().length === 1 ? streamPorts() : undefined), "the stream connection", 10_000, 20);
    const cut = spawnSync("ss", ["-K", "-t", "dst", "127.0.0.1", "dport", "=", String(port)], { encoding: "utf8" });
    expect(cut.status, cut.stderr).toBe(0);
    const res = await m.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Error: migration of m1 failed: /m);
    await waitFor(() => /^(r-|-b)----$/.test(domains(b).get("m1")?.state ?? ""), "m1 running again on b", 30_000, 100);
    await shell(b, "m1", "echo after-cut-$((6*7))", "after-cut-42");
    await waitFor(() => domains(a).size === 1 && qemuDirs(a).length === 0, "a to drop the incoming domain", 30_000, 100);
  }, 120_000);

  test("the source's xend killed mid-stream (QEMU holds the stream itself): the destination drops the guest, it runs on at the source, and the restarted xend gives it its name back", async () => {
    const m = await slowMigrationToA();
    const bPid = b.xend.pid;
    process.kill(bPid, "SIGKILL");
    await waitFor(() => !pidAlive(bPid), "b's xend to die", 10_000);
    expect((await m.done).code).not.toBe(0);
    // The relocation connection's end tells a: it ends its QEMU, which breaks the stream, and b's
    // QEMU resumes the guest itself.
    await waitFor(() => domains(a).size === 1 && qemuDirs(a).length === 0, "a to drop the incoming domain", 30_000, 100);
    await restartHost(b);
    await waitFor(() => /^(r-|-b)----$/.test(domains(b).get("m1")?.state ?? ""), "m1 running on b under its name", 30_000, 100);
    expect([...domains(b).keys()]).toEqual(["Domain-0", "m1"]);
    await shell(b, "m1", "echo source-back-$((6*7))", "source-back-42");
  }, 120_000);

  test("the source's QEMU stopped mid-stream (SIGSTOP): the source's progress reports stop, the destination gives the stream up after its stall timeout and drops the guest; xm says why; the source's QEMU, continued, runs it on", async () => {
    const m = await slowMigrationToA();
    const [dir] = qemuDirs(b);
    const qemu = (JSON.parse(readFileSync(join(b.root, "var/run/xend/qemu", dir!, "guest.json"), "utf8")) as { pid: number }).pid;
    process.kill(qemu, "SIGSTOP");
    try {
      await waitFor(() => domains(a).size === 1 && qemuDirs(a).length === 0, "a to give the stalled stream up", 40_000, 200);
      expect(ok(a.x("xm", "log"))).toMatch(/the migration stream stalled/);
    } finally {
      process.kill(qemu, "SIGCONT");
    }
    const res = await m.done;
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Error: migration of m1 failed: .*stalled/m);
    await waitFor(() => /^(r-|-b)----$/.test(domains(b).get("m1")?.state ?? ""), "m1 running again on b", 60_000, 100);
    await shell(b, "m1", "echo unstalled-$((6*7))", "unstalled-42");
  }, 180_000);

  test("a paused guest migrated without --live, both ends relaying the stream (XVM_QEMU_MIGRATION_RELAY=1), arrives paused with every page the same (memory digests of both ends)", async () => {
    // Both daemons again, relaying in xend as where a runtime cannot pass descriptors.
    for (const h of [a, b]) {
      const pid = h.xend.pid;
      process.kill(pid, "SIGKILL");
      await waitFor(() => !pidAlive(pid), "xend to die", 10_000);
      await restartHost(h, { ...(h === a ? A_ENV : {}), XVM_QEMU_MIGRATION_RELAY: "1" });
    }
    await waitFor(() => /^(r-|-b)----$/.test(domains(b).get("m1")?.state ?? ""), "m1 re-attached on b", 30_000, 100);
    ok(b.x("xm", "pause", "m1"));
    type Digest = { pages: number; sha256: string };
    const here = await b.api<Digest>("GET", "/plugins/relocation/digest/m1");
    expect(here.pages).toBe((128 * 2 ** 20) / 4096);
    const r = b.x("xm", "migrate", "-p", String(a.port), "m1", "127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stream: relayed by xend$/m);
    expect(domains(a).get("m1")?.state).toBe("--p---");
    expect(await a.api<Digest>("GET", "/plugins/relocation/digest/m1")).toEqual(here);
    ok(a.x("xm", "destroy", "m1"));
  }, 120_000);

  test("the source's xend killed once its QEMU sent everything (held at migrate.out.before-done) and the destination started the guest: the restarted source asks the destination (QUERY), hears it runs there and destroys its stopped copy", async () => {
    // b hands the stream to QEMU; a still relays (the test before): ends choose for themselves.
    await restartAt(b, { XVM_TEST_HOLD: "migrate.out.before-done" });
    await bootOn(b, "m2");
    const m = background(b.root, ["xm", "migrate", "--live", "-p", String(a.port), "m2", "127.0.0.1"]);
    await waitFor(() => held(b, "migrate.out.before-done"), "b to hold after the stream", 60_000, 50);
    await waitFor(() => /^(r-|-b)----$/.test(domains(a).get("m2")?.state ?? ""), "m2 running on a", 30_000, 100);
    await restartAt(b);
    expect((await m.done).code).not.toBe(0);
    await waitFor(() => !domains(b).has("m2") && !domains(b).has("migrating-m2"), "b to destroy its stopped copy", 30_000, 100);
    expect(ok(b.x("xm", "log"))).toMatch(new RegExp(`Domain m2 \\(\\d+\\) runs on 127\\.0\\.0\\.1:${a.port} \\(running there\\): its migration completed after the xend that ran it went away; the stopped copy here is destroyed`));
    expect(domains(a).get("m2")?.state).toMatch(/^(r-|-b)----$/);
    ok(a.x("xm", "destroy", "m2"));
  }, 180_000);

  test("the same, the destination still holding the half-received guest (held at migrate.in.before-commit): the source keeps its stopped copy paused under its name, says what the destination answered, and xm unpause brings it back", async () => {
    await restartAt(a, { ...A_ENV, XVM_TEST_HOLD: "migrate.in.before-commit" });
    await restartAt(b, { XVM_TEST_HOLD: "migrate.out.before-done" });
    await bootOn(b, "m3");
    const m = background(b.root, ["xm", "migrate", "--live", "-p", String(a.port), "m3", "127.0.0.1"]);
    await waitFor(() => held(a, "migrate.in.before-commit") && held(b, "migrate.out.before-done"), "both ends to hold", 60_000, 50);
    await restartAt(b);
    expect((await m.done).code).not.toBe(0);
    await waitFor(() => domains(b).get("m3")?.state === "--p---", "m3 back under its name on b, paused", 30_000, 100);
    expect(ok(b.x("xm", "log"))).toMatch(new RegExp(`Domain m3 \\(\\d+\\) stays paused: its migration ended with the xend that ran it after the guest was sent \\(the destination says: arriving\\); if it runs on 127\\.0\\.0\\.1:${a.port}, destroy this copy, else 'xm unpause m3'`));
    // a, started again, drops what never arrived; b's copy runs again when told.
    await restartAt(a, A_ENV);
    await waitFor(() => !domains(a).has("m3"), "a to drop the half-received m3", 30_000, 100);
    ok(b.x("xm", "unpause", "m3"));
    await shell(b, "m3", "echo resumed-$((6*7))", "resumed-42");
    ok(b.x("xm", "destroy", "m3"));
  }, 180_000);
});
