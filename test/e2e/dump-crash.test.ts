/**
 * Crash dumps with the compiled binary: a sim:counter guest crashed with `xm sysrq c` leaves a dump
 * named as xend named it before its on_crash action runs, readelf accepts it, `xvm mdb` reads its
 * counter back; `config/enable-dump` toggled live; on_crash coredump-*; the dump-limit rule; a file
 * in place of the dump directory; `xm dump-core` and the legacy interface's `op=dump`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Paths } from "../../src/paths.ts";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { pseudoRandom } from "../helpers/dump-double.ts";
import { list, ok, onRoot, setLive, svcState, xendLog, type Xvm } from "../helpers/host.ts";

let x: Xvm;
let root: string;
let dumpDir: string;

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-dump-e2e-"), { relocation: false });
  x = onRoot(root);
  dumpDir = join(root, "var/xen/dump");
  ok(x("svcadm", "enable", "-s", "xend"));
  expect(svcState(x)).toBe("online");
});

afterAll(async () => {
  await cleanupRoot(root);
});

function createGuest(name: string, onCrash: string, kernel = "sim:counter"): number {
  const cfg = join(root, `${name}.cfg`);
  writeFileSync(cfg, `name = "${name}"\nkernel = "${kernel}"\nmemory = 16\nvcpus = 1\non_crash = "${onCrash}"\n`);
  ok(x("xm", "create", cfg));
  return Number(ok(x("xm", "domid", name)).trim());
}

const consoleText = async (dom: string) =>
  (await unixJson<{ text: string }>(new Paths(root).controlSocket, "GET", `/domains/${dom}/console`)).text;

const heartbeats = (text: string) => [...text.matchAll(/heartbeat (\d+)/g)].map((m) => Number(m[1]));

const dumpsOf = (name: string, domid: number) => readdirSync(dumpDir).filter((f) => f.endsWith(`-${name}.${domid}.core`));

/** xend's name for every second in [from, to] (the daemon runs with TZ=UTC, as the test helpers set). */
function namesBetween(name: string, domid: number, from: number, to: number): string[] {
  const out: string[] = [];
  for (let s = Math.floor(from / 1000); s <= Math.floor(to / 1000); s++) {
    const d = new Date(s * 1000);
    const p = (n: number) => String(n).padStart(2, "0");
    out.push(`${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}.${p(d.getUTCSeconds())}-${name}.${domid}.core`);
  }
  return out;
}

function counterIn(file: string): number {
  const r = x("mdb", "-e", "::counter", file);
  expect(r.stderr).toBe("");
  const m = /^counter = (\d+) \(0x[0-9a-f]+\)\n$/.exec(r.stdout);
  expect(m, r.stdout).not.toBeNull();
  return Number(m![1]);
}

describe("a crashed counter guest", () => {
  let domid: number;
  let file: string;
  let before: number;
  let after: number;
  let lastBeat: number;

  beforeAll(async () => {
    domid = createGuest("ctr", "preserve");
    await waitFor(async () => heartbeats(await consoleText("ctr")).some((n) => n >= 200), "two heartbeats on ctr's console");
    lastBeat = Math.max(...heartbeats(await consoleText("ctr")));
    before = Date.now();
    ok(x("xm", "sysrq", "ctr", "c"));
    // on_crash = preserve runs after the dump: once the domain shows crashed, the dump is complete.
    await waitFor(() => list(x).get("ctr")?.state === "----c-", "ctr to be preserved crashed");
    after = Date.now();
    const files = dumpsOf("ctr", domid);
    expect(files).toHaveLength(1);
    file = join(dumpDir, files[0]!);
  });

  it("leaves a dump named as xend named it, written before the on_crash action", () => {
    expect(namesBetween("ctr", domid, before, after)).toContain(file.slice(dumpDir.length + 1));
    expect(readdirSync(dumpDir).filter((f) => f.includes("ctr"))).toEqual([file.slice(dumpDir.length + 1)]);
    const log = xendLog(root);
    const dumped = log.indexOf(`dumped core of domain ctr (${domid}) to ${file}`);
    const action = log.indexOf(`Domain ctr (${domid}): on_crash = preserve`);
    expect(dumped).toBeGreaterThan(0);
    expect(action).toBeGreaterThan(dumped);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it("is accepted by readelf, with the Xen dump-core sections and notes", () => {
    const r = spawnSync("readelf", ["-h", "-S", "-n", "-W", file], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Type:\s+CORE \(Core file\)/);
    for (const s of [".note.Xen", ".xen_prstatus", ".xen_pfn", ".xen_pages", ".shstrtab"]) expect(r.stdout).toContain(` ${s} `);
    for (const t of ["0x02000000", "0x02000001", "0x02000002", "0x02000003"]) expect(r.stdout).toContain(`(${t})`);
  });

  it("shows the domain and the counter at the moment of the crash in xvm mdb", async () => {
    const status = ok(x("mdb", "-e", "::status", file));
    expect(status).toContain(`domain:      ctr (domid ${domid}, uuid `);
    expect(status).toContain("format:      Xen dump-core 0.1, ELF64 ET_CORE, HVM (magic 0xf00febee)");
    expect(status).toContain("vCPUs:       1\n");
    expect(status).toContain("pages:       4096 of 4096 bytes (16 MiB)\n");
    const counter = counterIn(file);
    expect(counter).toBeGreaterThanOrEqual(lastBeat);
    // The crashed guest is frozen: a second dump of it now holds the very same counter.
    const again = join(root, "again.core");
    ok(x("xm", "dump-core", "ctr", again));
    expect(counterIn(again)).toBe(counter);
    // Every heartbeat the guest printed came before the crash, so none is above the dumped counter.
    const beats = heartbeats(await consoleText("ctr"));
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...beats)).toBeLessThanOrEqual(counter);
    expect(ok(x("mdb", "-e", "0::regs", file))).toMatch(/^vCPU 0:\n/);
  });
});

describe("config/enable-dump and on_crash", () => {
  it("stops dumping after setprop false + refresh, dumps for coredump-destroy anyway, and resumes when true", async () => {
    await setLive(x, { "enable-dump": "false" });
    expect(xendLog(root)).toContain("crash dumps disabled (config/enable-dump = false)");
    const off = createGuest("off1", "destroy", "sim:idle");
    ok(x("xm", "sysrq", "off1", "c"));
    await waitFor(() => !list(x).has("off1"), "off1 to be destroyed by on_crash");
    expect(dumpsOf("off1", off)).toEqual([]);

    const want = createGuest("want1", "coredump-destroy", "sim:idle");
    ok(x("xm", "sysrq", "want1", "c"));
    await waitFor(() => !list(x).has("want1"), "want1 to be destroyed by on_crash");
    expect(dumpsOf("want1", want)).toHaveLength(1);
    expect(xendLog(root)).toContain(`domain want1 (${want}) crashed; dumping core to `);

    await setLive(x, { "enable-dump": "true" });
    const on = createGuest("on1", "destroy", "sim:idle");
    ok(x("xm", "sysrq", "on1", "c"));
    await waitFor(() => !list(x).has("on1"), "on1 to be destroyed by on_crash");
    expect(dumpsOf("on1", on)).toHaveLength(1);
  });
});

describe("dump-limit", () => {
  it("removes the oldest dumps beyond the limit and logs them, keeping the newest", async () => {
    const old = ["2001-0101-0000.00-old.1.core", "2001-0101-0000.01-old.2.core-incomplete"].map((n, i) => {
      const p = join(dumpDir, n);
      const data = new Uint8Array(2 ** 20);
      pseudoRandom(data, i + 1);
      writeFileSync(p, data);
      const t = new Date(Date.now() - 3600_000 + i * 1000);
      utimesSync(p, t, t);
      return p;
    });
    const keep = join(dumpDir, "README");
    writeFileSync(keep, "not a dump\n");
    const existing = readdirSync(dumpDir).filter((f) => f.endsWith(".core") && !f.startsWith("2001"));
    await setLive(x, { "dump-limit": "1" });
    // Lowering the limit applies at once; the small sim dumps (mostly holes) fit in 1 MiB.
    await waitFor(() => old.every((p) => !existsSync(p)), "the old dumps to be removed");
    for (const p of old) expect(xendLog(root)).toContain(`dump-limit 1 MiB: removed old dump ${p} (1.0 MiB on disk)`);
    expect(existsSync(keep)).toBe(true);
    expect(readdirSync(dumpDir).filter((f) => f.endsWith(".core"))).toEqual(expect.arrayContaining(existing));

    const big = join(dumpDir, "2001-0101-0000.02-old.3.core");
    const data = new Uint8Array(2 ** 20);
    pseudoRandom(data, 9);
    writeFileSync(big, data);
    const t = new Date(Date.now() - 3600_000);
    utimesSync(big, t, t);
    const id = createGuest("lim1", "destroy", "sim:idle");
    ok(x("xm", "sysrq", "lim1", "c"));
    await waitFor(() => !list(x).has("lim1"), "lim1 to be destroyed by on_crash");
    expect(dumpsOf("lim1", id)).toHaveLength(1);
    expect(existsSync(big)).toBe(false);
    expect(xendLog(root)).toContain(`dump-limit 1 MiB: removed old dump ${big}`);
    await setLive(x, { "dump-limit": "4096" });
  });
});

describe("faults", () => {
  it("logs a clear line when a file is where the dump directory should be, and the on_crash action still runs", async () => {
    const notDir = join(root, "var/xen/notadir");
    writeFileSync(notDir, "a file\n");
    await setLive(x, { "dump-directory": "/var/xen/notadir" });
    const id = createGuest("nodir1", "destroy", "sim:idle");
    ok(x("xm", "sysrq", "nodir1", "c"));
    await waitFor(() => !list(x).has("nodir1"), "nodir1 to be destroyed by on_crash");
    expect(xendLog(root)).toContain(
      `core dump of crashed domain nodir1 (${id}) failed: Failed to dump core: cannot create dump directory ${notDir}: a file is in the way`,
    );
    expect(svcState(x)).toBe("online");
    await setLive(x, { "dump-directory": "/var/xen/dump" });
  });
});

describe("on demand", () => {
  it("xm dump-core writes a running guest's dump and --crash destroys it", () => {
    const id = createGuest("live1", "restart");
    const r = x("xm", "dump-core", "live1");
    expect(r.code).toBe(0);
    const [name] = dumpsOf("live1", id);
    expect(r.stdout).toBe(`Dumping core of domain: live1 ...\nCore dumped to ${join(dumpDir, name!)}\n`);
    expect(list(x).get("live1")?.state).not.toContain("p");
    const file = join(root, "live1-crash.core");
    expect(x("xm", "dump-core", "-C", "live1", file).code).toBe(0);
    expect(list(x).has("live1")).toBe(false);
    expect(ok(x("mdb", "-e", "::status", file))).toContain(`domain:      live1 (domid ${id}, uuid `);
    const bad = x("xm", "dump-core", "nosuch");
    expect([bad.code, bad.stderr]).toEqual([1, "Error: Domain 'nosuch' does not exist.\n"]);
  });

  it("the legacy interface's op=dump writes the dump inside the dump directory only (issue 13 §2)", async () => {
    createGuest("legacy1", "destroy", "sim:idle");
    const legacy = (file: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = `op=dump&file=${encodeURIComponent(file)}&live=1&crash=0`;
      const req = request(
        { socketPath: join(root, "var/lib/xend/xend-socket"), method: "POST", path: "/xend/domain/legacy1", headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) } },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (d: string) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    expect((await legacy("legacy1.core")).status).toBe(200);
    const file = join(root, "var/xen/dump/legacy1.core");
    expect(ok(x("mdb", "-e", "::status", file))).toContain("domain:      legacy1 ");
    // Absolute paths and .. are the administrator's (xm dump-core), never the legacy interface's.
    const abs = await legacy(join(root, "abs.core"));
    expect(abs).toEqual({ status: 500, body: `(xend.err '${join(root, "abs.core")}: an absolute path is accepted only from xm dump-core on the control socket; give a name inside the dump directory')` });
    const dots = await legacy("../../../etc/evil.core");
    expect(dots.status).toBe(500);
    expect(dots.body).toContain("leads out of");
    expect(existsSync(join(root, "abs.core")) || existsSync(join(root, "etc/evil.core"))).toBe(false);
  });

  it("xm dump-core creates no folder outside the state root", () => {
    createGuest("nodir1", "destroy", "sim:idle");
    const missing = `/nonexistent-xvm-${process.pid}/sub/x.core`;
    const r = x("xm", "dump-core", "nodir1", missing);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: ${missing}: the folder /nonexistent-xvm-${process.pid}/sub does not exist (xend creates folders only under its state root ${root})\n`);
    expect(existsSync(`/nonexistent-xvm-${process.pid}`)).toBe(false);
    ok(x("xm", "destroy", "nodir1"));
  });
});
