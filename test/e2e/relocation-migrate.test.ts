/**
 * Migration between two daemons of the compiled binary on one machine (separate roots, relocation
 * servers on different ports of 127.0.0.1): live and non-live, there and back, the legacy
 * `op=migrate`, the records on the control API, and a destination that refuses.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, xvmBin } from "../helpers/cli.ts";
import { libvirtPost } from "../helpers/raw-http.ts";
import {
  createGuest, digest, domains, expectNoGuests, lastHeartbeat, ok, startHost, uuidOf, waitFor, type Host,
} from "../helpers/relocation.ts";

let a: Host;
let b: Host;

beforeAll(async () => {
  [a, b] = await Promise.all([startHost("a"), startHost("b")]);
});

afterAll(async () => {
  for (const h of [a, b]) if (h) await cleanupRoot(h.root, [h.xend.pid]);
});

const SUMMARY_KEYS = [
  "Migration status", "total time", "downtime", "setup", "transferred ram", "throughput", "remaining ram", "total ram",
  "duplicate", "normal", "normal bytes", "dirty sync count", "dirty pages rate", "cpu throttle percentage",
];

function summary(stdout: string): Record<string, string> {
  const lines = stdout.split("\n").filter((l) => !l.startsWith("Migrating ") && l.includes(": "));
  return Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(": ")), l.slice(l.indexOf(": ") + 2)]));
}

describe("xm migrate between two daemons", () => {
  it("live-migrates a running counter guest: same name, uuid and config there, counter carrying on, nothing left here", async () => {
    createGuest(a, "web1", 'kernel = "sim:counter"\nmemory = 64\nvcpus = 2\nmaxvcpus = 3');
    const uuid = await uuidOf(a, "web1");
    await waitFor(async () => (await lastHeartbeat(a, "web1")) >= 200, "two heartbeats on the source");
    const before = await lastHeartbeat(a, "web1");
    const r = a.x("xm", "migrate", "--live", "-p", String(b.port), "web1", "127.0.0.1");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.find((l) => l.startsWith("Migration of"))).toMatch(/^Migration of web1 to 127\.0\.0\.1:\d+ completed \(live\): it is domain \d+ there\.$/);
    const s = summary(r.stdout);
    expect(Object.keys(s)).toEqual(SUMMARY_KEYS);
    expect(s["Migration status"]).toBe("completed");
    expect(s["total ram"]).toBe("65536 kbytes");
    expect(s["remaining ram"]).toBe("0 kbytes");
    expect(Number(s["dirty sync count"])).toBeGreaterThanOrEqual(2);
    expect(Number(s.duplicate.split(" ")[0]) + Number(s.normal.split(" ")[0])).toBeGreaterThanOrEqual(16384);
    expect(s.downtime).toMatch(/^\d+ ms$/);
    // Progress lines (not a terminal: plain lines).
    expect(lines.some((l) => /^Migrating web1: round \d+, \d+%, [\d.]+ MiB\/s, ETA (\d+:\d\d|--:--), \d+ dirty pages left/.test(l))).toBe(true);

    expect(domains(a).has("web1")).toBe(false);
    expect(domains(a).has("migrating-web1")).toBe(false);
    expectNoGuests(a);
    const there = await b.api<{ name: string; uuid: string; maxvcpus: number; vcpus: number; memory: number; config: { kernel: string } }>("GET", "/domains/web1");
    expect(there).toMatchObject({ name: "web1", uuid, memory: 64, vcpus: 2, maxvcpus: 3, config: { kernel: "sim:counter" } });
    expect(domains(b).get("web1")!.state).toMatch(/^[r-][b-]----$/);
    // The counter continues where it was: the first heartbeat there is past the last one here.
    await waitFor(async () => (await lastHeartbeat(b, "web1")) > 0, "a heartbeat on the destination");
    expect(await lastHeartbeat(b, "web1")).toBeGreaterThan(before);
    expect((await b.api<{ text: string }>("GET", "/domains/web1/console")).text).not.toContain("booting");

    const recs = await a.api<{ migrations: { direction: string; domain: string; status: string; stats: { rounds: number } }[] }>("GET", "/plugins/relocation/migrations");
    expect(recs.migrations.at(-1)).toMatchObject({ direction: "out", domain: "web1", status: "completed" });
    const got = await b.api<{ migrations: { direction: string; domain: string; status: string }[] }>("GET", "/plugins/relocation/migrations");
    expect(got.migrations.at(-1)).toMatchObject({ direction: "in", domain: "web1", status: "completed" });
  });

  it("migrates a paused guest without --live: memory digest identical, still paused there, runs once unpaused", async () => {
    createGuest(a, "data1", 'kernel = "sim:memwriter"\nextra = "rate=64M wss=16M"\nmemory = 64');
    const zero = createHash("sha256").update(Buffer.alloc((16384 - 1) * 4096)).digest("hex");
    await waitFor(async () => (await digest(a, "data1")).sha256Rest !== zero, "the writer to write");
    ok(a.x("xm", "pause", "data1"));
    const d1 = await digest(a, "data1");
    const r = a.x("xm", "migrate", "-p", String(b.port), "data1", "127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("Migration of data1 to 127.0.0.1:");
    expect(r.stdout).not.toContain("(live)");
    expect(domains(b).get("data1")!.state).toBe("--p---");
    expect(await digest(b, "data1")).toEqual(d1);
    ok(b.x("xm", "unpause", "data1"));
    await waitFor(async () => (await digest(b, "data1")).sha256 !== d1.sha256, "the writer to run on the destination");
    expect(domains(a).has("data1")).toBe(false);
  });

  it("brings a guest back live with the legacy op=migrate (POST /xend/domain/<dom>)", async () => {
    const uuid = await uuidOf(b, "web1");
    const before = await lastHeartbeat(b, "web1");
    const res = await libvirtPost(`${b.root}/var/lib/xend/xend-socket`, "/xend/domain/web1", [
      ["op", "migrate"], ["destination", "127.0.0.1"], ["live", "1"], ["port", String(a.port)], ["node", "-1"], ["ssl", "0"], ["change_home_server", "0"], ["resource", "0"],
    ]);
    expect(res.status).toBe(200);
    expect(res.body).toBe("");
    expect(domains(b).has("web1")).toBe(false);
    expect(await uuidOf(a, "web1")).toBe(uuid);
    await waitFor(async () => (await lastHeartbeat(a, "web1")) > before, "the counter on its way home");
  });

  it("keeps the guest here, under its own name, when the destination refuses it (name taken there)", async () => {
    createGuest(b, "taken", 'kernel = "sim:idle"\nmemory = 32');
    createGuest(a, "taken", 'kernel = "sim:counter"\nmemory = 32');
    const d = await digest(a, "taken");
    const r = a.x("xm", "migrate", "-l", "-p", String(b.port), "taken", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: migration of taken failed: the destination refused the domain: Restore failed: the name taken belongs to a running domain here ('taken'); a migration never replaces a domain\n");
    expect(domains(a).get("taken")!.state).toMatch(/^[r-][b-]----$/);
    expect((await digest(a, "taken")).sha256Rest).toBe(d.sha256Rest);
    expect([...domains(b).keys()].sort()).toEqual(["Domain-0", "data1", "taken"]);
  });

  it("keeps one progress line up to date on a terminal, then prints the summary", async () => {
    createGuest(a, "tty1", 'kernel = "sim:memwriter"\nextra = "rate=max wss=16M"\nmemory = 32');
    const zero = createHash("sha256").update(Buffer.alloc((8192 - 1) * 4096)).digest("hex");
    await waitFor(async () => (await digest(a, "tty1")).sha256Rest !== zero, "the writer to write");
    ok(a.x("xm", "pause", "tty1"));
    // On a pty (python3's pty module): -r keeps the copy slow enough for several progress updates.
    const driver = [
      "import os, pty, sys",
      "pid, fd = pty.fork()",
      "if pid == 0: os.execv(sys.argv[1], sys.argv[1:])",
      "out = b''",
      "while True:",
      "    try: data = os.read(fd, 65536)",
      "    except OSError: break",
      "    if not data: break",
      "    out += data",
      "_, st = os.waitpid(pid, 0)",
      "sys.stdout.write(out.decode('utf-8', 'replace'))",
      "sys.exit(os.waitstatus_to_exitcode(st))",
    ].join("\n");
    const r = spawnSync("python3", ["-c", driver, xvmBin(), "xm", "migrate", "-l", "-r", "160", "-p", String(b.port), "tty1", "127.0.0.1"], {
      encoding: "utf8", timeout: 60_000, env: { ...process.env, XVM_ROOT: a.root },
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const updates = r.stdout.split("\r").filter((l) => l.startsWith("Migrating tty1: "));
    expect(updates.length).toBeGreaterThan(1);
    for (const u of updates) expect(u).toMatch(/^Migrating tty1: round \d+, \d+%, [\d.]+ MiB\/s, ETA (\d+:\d\d|--:--), \d+ dirty pages left(, stopped|, verifying)?\x1b\[K(\r?\n)?/);
    expect(r.stdout).toMatch(/\x1b\[K\r?\nMigration of tty1 to 127\.0\.0\.1:\d+ completed \(live\): it is domain \d+ there\.\r?\n/);
    expect(r.stdout).toMatch(/\r?\ncpu throttle percentage: 0\r?\n$/);
  });

  it("refuses what cannot be migrated, with the reason", () => {
    expect(a.x("xm", "migrate", "Domain-0", "127.0.0.1")).toMatchObject({ code: 1, stderr: "Error: Cannot migrate privileged domain Domain-0\n" });
    expect(a.x("xm", "migrate", "nosuch", "127.0.0.1")).toMatchObject({ code: 1, stderr: "Error: Domain 'nosuch' does not exist.\n" });
    const port = a.x("xm", "migrate", "-p", "99999", "web1", "127.0.0.1");
    expect(port).toMatchObject({ code: 1, stderr: "Error: invalid port '99999': give a number from 0 to 65535\n" });
    const closed = a.x("xm", "migrate", "-p", "1", "web1", "127.0.0.1");
    expect(closed).toMatchObject({ code: 1, stderr: "Error: migration of web1 failed: can't connect: 127.0.0.1:1: ECONNREFUSED\n" });
    expect(domains(a).get("web1")!.state).toMatch(/^[r-][b-]----$/);
    for (const h of [a, b]) for (const name of domains(h).keys()) expect(name.startsWith("migrating-")).toBe(false);
  });
});
