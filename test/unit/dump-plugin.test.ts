/**
 * The enable-dump plugin through its contract: a hand-built PluginContext whose hypervisor is a test
 * double dumping with the real writer (test/helpers/dump-double.ts).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import plugin from "../../plugins/enable-dump/index.ts";
import { dumpFileName } from "../../plugins/enable-dump/dump-file.ts";
import { XenCoreFile } from "../../src/formats/elfcore-read.ts";
import type { ConfigChanges, PluginInstance } from "../../src/plugin/contract.ts";
import { FakeHypervisor, type DumpTestContext, PAGE, makeGuest, pluginContext, pseudoRandom } from "../helpers/dump-double.ts";

type Config = { "enable-dump": boolean; "dump-directory": string; "dump-limit": number };

let root: string;
let hv: FakeHypervisor;
let t: DumpTestContext<Config>;
let instance: PluginInstance;

async function start(config: Partial<Config> = {}): Promise<void> {
  t = pluginContext<Config>(root, hv, { "enable-dump": true, "dump-directory": "/var/xen/dump", "dump-limit": 4096, ...config });
  instance = (await plugin.setup(t.ctx as never)) as PluginInstance;
}

const dumpDir = () => join(root, "var/xen/dump");
const summaryOf = async (name: string) => t.ctx.domains.get(name);
const crash = async (name: string, wantDump = false) => instance.hooks!.domainCrashed!(await summaryOf(name), { wantDump });
const refresh = async (changes: Array<[keyof Config, Config[keyof Config]]>) => {
  const map = new Map<string, readonly [unknown, unknown]>();
  for (const [k, v] of changes) {
    map.set(k, [t.config[k], v]);
    (t.config as Record<string, unknown>)[k] = v;
  }
  await instance.refresh!(map as ConfigChanges);
};

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "xvm-dump-plugin-"));
  hv = new FakeHypervisor();
  hv.guests.set(5, makeGuest(5, "web1", 32));
  hv.guests.set(6, makeGuest(6, "db1", 16));
  await start();
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("crash dumps (domainCrashed hook)", () => {
  it("names the file as xend did, from local time, and the dump reads back", async () => {
    const before = new Date();
    await crash("web1");
    const after = new Date();
    const files = readdirSync(dumpDir());
    expect(files).toHaveLength(1);
    const name = files[0]!;
    expect([dumpFileName("web1", 5, before), dumpFileName("web1", 5, after)]).toContain(name);
    expect(name).toMatch(/^\d{4}-\d{4}-\d{4}\.\d\d-web1\.5\.core$/);
    const core = XenCoreFile.open(join(dumpDir(), name));
    try {
      expect(core.domain).toMatchObject({ domid: 5, name: "web1" });
      expect(core.header.nrPages).toBe(32);
      const mem = hv.guests.get(5)!.memory;
      for (let p = 0; p < 32; p++) expect(Buffer.compare(core.readPage(p), Buffer.from(mem.buffer, p * PAGE, PAGE))).toBe(0);
      expect(core.vcpus[0]!.regs).toContainEqual(["counter", 500n]);
    } finally {
      core.close();
    }
    expect(hv.pausedDuringDump).toEqual([true]);
    expect(t.logs).toContainEqual(`INFO (enable-dump) domain web1 (5) crashed; dumping core to ${join(dumpDir(), name)} (config/enable-dump is true)`);
    expect(t.logs.some((l) => l.startsWith(`INFO (enable-dump) dumped core of domain web1 (5) to ${join(dumpDir(), name)}: `))).toBe(true);
  });

  it("formats the time as %Y-%m%d-%H%M.%S", () => {
    expect(dumpFileName("myvm", 5, new Date(2009, 3, 30, 14, 33, 32))).toBe("2009-0430-1433.32-myvm.5.core");
    expect(dumpFileName("a/b", 1, new Date(2024, 0, 2, 3, 4, 5))).toBe("2024-0102-0304.05-a_b.1.core");
  });

  it("does not dump when enable-dump is false, unless on_crash asks for a core dump", async () => {
    await start({ "enable-dump": false });
    await crash("web1");
    expect(existsSync(dumpDir())).toBe(false);
    expect(hv.dumps).toBe(0);
    await crash("web1", true);
    expect(readdirSync(dumpDir())).toEqual([expect.stringMatching(/-web1\.5\.core$/)]);
    expect(t.logs.some((l) => l.includes("dumping core to") && l.endsWith("(on_crash is restart)"))).toBe(true);
  });

  it("picks up a refreshed enable-dump without a restart", async () => {
    await refresh([["enable-dump", false]]);
    expect(t.logs).toContainEqual("INFO (enable-dump) crash dumps disabled (config/enable-dump = false)");
    await crash("web1");
    expect(hv.dumps).toBe(0);
    await refresh([["enable-dump", true]]);
    expect(t.logs).toContainEqual("INFO (enable-dump) crash dumps enabled (config/enable-dump = true)");
    await crash("web1");
    expect(hv.dumps).toBe(1);
  });

  it("leaves <file>-incomplete and logs the reason when the dump fails, without throwing", async () => {
    hv.failAfterBytes = 10_000;
    await expect(crash("web1")).resolves.toBeUndefined();
    const files = readdirSync(dumpDir());
    expect(files).toEqual([expect.stringMatching(/^\d{4}-\d{4}-\d{4}\.\d\d-web1\.5\.core-incomplete$/)]);
    expect(statSync(join(dumpDir(), files[0]!)).size).toBe(10_000);
    const file = join(dumpDir(), files[0]!.replace(/-incomplete$/, ""));
    expect(t.logs).toContainEqual(
      `ERROR (enable-dump) core dump of crashed domain web1 (5) failed: Failed to dump core: ENOSPC: no space left on device, write; partial dump left as ${file}-incomplete`,
    );
  });

  it("creates a missing dump directory, and a custom one under the root", async () => {
    await start({ "dump-directory": "/srv/dumps/deep" });
    await crash("db1");
    expect(readdirSync(join(root, "srv/dumps/deep"))).toEqual([expect.stringMatching(/-db1\.6\.core$/)]);
  });

  it("logs a clear line when a file stands where the dump directory should be", async () => {
    mkdirSync(join(root, "var/xen"), { recursive: true });
    writeFileSync(dumpDir(), "not a directory");
    await start();
    expect(t.logs).toContainEqual(`WARN (enable-dump) dump directory ${dumpDir()} is not a directory: crash dumps will fail until it is moved away`);
    await expect(crash("web1")).resolves.toBeUndefined();
    expect(t.logs).toContainEqual(
      `ERROR (enable-dump) core dump of crashed domain web1 (5) failed: Failed to dump core: cannot create dump directory ${dumpDir()}: a file is in the way`,
    );
    expect(readdirSync(join(root, "var/xen"))).toEqual(["dump"]);
  });

  it("logs a clear line when the dump directory is not writable", async () => {
    if (process.getuid?.() === 0) {
      // root writes anywhere: make the directory unwritable another way, a read-only double.
      hv.failAfterBytes = undefined;
      const driver = hv.driver as { dumpCore: (...a: unknown[]) => Promise<void> };
      driver.dumpCore = async () => {
        throw Object.assign(new Error(`EACCES: permission denied, open '${dumpDir()}/x'`), { code: "EACCES" });
      };
    } else {
      mkdirSync(dumpDir(), { recursive: true });
      chmodSync(dumpDir(), 0o555);
    }
    await expect(crash("web1")).resolves.toBeUndefined();
    expect(t.logs.some((l) => /^ERROR \(enable-dump\) core dump of crashed domain web1 \(5\) failed: .*EACCES: permission denied.*; no file was written$/.test(l))).toBe(true);
    chmodSync(dumpDir(), 0o755);
    expect(readdirSync(dumpDir())).toEqual([]);
  });
});

describe("dump-limit", () => {
  function oldDump(name: string, mib: number, ageSeconds: number): string {
    mkdirSync(dumpDir(), { recursive: true });
    const p = join(dumpDir(), name);
    const data = new Uint8Array(mib * 2 ** 20);
    pseudoRandom(data, ageSeconds);
    writeFileSync(p, data);
    const when = new Date(Date.now() - ageSeconds * 1000);
    utimesSync(p, when, when);
    return p;
  }

  it("keeps the newest dumps within the limit, removes the oldest and logs them", async () => {
    await start({ "dump-limit": 3 });
    const oldest = oldDump("2020-0101-0000.00-web1.5.core", 1, 300);
    const older = oldDump("2020-0101-0001.00-web1.5.core-incomplete", 1, 200);
    const newer = oldDump("2020-0101-0002.00-web1.5.core", 1, 100);
    const other = join(dumpDir(), "notes.txt");
    writeFileSync(other, Buffer.alloc(2 ** 20, 1));
    await crash("web1"); // 32 pages: ~0.1 MiB
    const left = readdirSync(dumpDir()).sort();
    expect(left).toContain("notes.txt");
    expect(left).toContain("2020-0101-0002.00-web1.5.core");
    expect(left).toContain("2020-0101-0001.00-web1.5.core-incomplete");
    expect(left).not.toContain("2020-0101-0000.00-web1.5.core");
    expect(left.filter((f) => f.endsWith("-web1.5.core"))).toHaveLength(2);
    expect(t.logs).toContainEqual(expect.stringMatching(new RegExp(`^INFO \\(enable-dump\\) dump-limit 3 MiB: removed old dump ${oldest} \\(1\\.0 MiB on disk\\)$`)));
    expect([older, newer, other].every(existsSync)).toBe(true);
  });

  it("keeps the newest dump even when it alone is over the limit", async () => {
    await start({ "dump-limit": 1 });
    oldDump("2020-0101-0000.00-web1.5.core", 2, 100);
    await crash("web1");
    const left = readdirSync(dumpDir());
    expect(left).toEqual([expect.stringMatching(/^\d{4}-\d{4}-\d{4}\.\d\d-web1\.5\.core$/)]);
    expect(left[0]).not.toBe("2020-0101-0000.00-web1.5.core");
  });

  it("applies a lowered limit on refresh, and 0 means no limit", async () => {
    await start({ "dump-limit": 0 });
    oldDump("a.core", 1, 300);
    oldDump("b.core", 1, 200);
    oldDump("c.core", 1, 100);
    await crash("db1");
    expect(readdirSync(dumpDir())).toHaveLength(4);
    await refresh([["dump-limit", 2]]);
    expect(readdirSync(dumpDir()).sort()).toEqual([expect.stringMatching(/-db1\.6\.core$/), "c.core"].sort());
  });
});

describe("POST /plugins/enable-dump/dump (xm dump-core)", () => {
  const post = (body: unknown) =>
    t.routes.request("/dump", { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });

  it("dumps a running domain into the dump directory and answers the file", async () => {
    const res = await post({ domain: "web1" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { file: string; bytes: number; seconds: number };
    expect(body.file).toMatch(new RegExp(`^${dumpDir()}/\\d{4}-\\d{4}-\\d{4}\\.\\d\\d-web1\\.5\\.core$`));
    expect(body.bytes).toBe(statSync(body.file).size);
    expect(hv.pausedDuringDump).toEqual([true]);
    expect(hv.guests.get(5)!.paused).toBe(false);
    expect(XenCoreFile.open(body.file).domain.name).toBe("web1");
  });

  it("dumps live to a given file, by domid", async () => {
    const file = join(root, "elsewhere", "db.core");
    const res = await post({ domain: 6, file, live: true });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { file: string }).file).toBe(file);
    expect(hv.pausedDuringDump).toEqual([false]);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it("destroys after the dump with crash, re-creates with reset", async () => {
    expect((await post({ domain: "web1", crash: true })).status).toBe(200);
    expect(t.domains.calls).toEqual(["destroy web1"]);
    expect(hv.guests.has(5)).toBe(false);
    expect((await post({ domain: "db1", reset: true })).status).toBe(200);
    expect(t.domains.calls).toEqual(["destroy web1", "destroy db1", "create db1"]);
    expect(readdirSync(dumpDir())).toHaveLength(2);
  });

  it("refuses bad requests with the error table's codes", async () => {
    const cases: Array<[unknown, number, string, RegExp]> = [
      [{ domain: "nosuch" }, 404, "DOMAIN_NOT_FOUND", /^Domain 'nosuch' does not exist\.$/],
      [{ domain: "web1", crash: true, reset: true }, 400, "XVM_BAD_REQUEST", /^--crash and --reset are mutually exclusive$/],
      [{ domain: "web1", live: "yes" }, 400, "XVM_BAD_REQUEST", /^live: /],
      [{ domain: "web1", bogus: 1 }, 400, "XVM_BAD_REQUEST", /bogus/],
      ["{not json", 400, "XVM_BAD_REQUEST", /^the body must be a JSON object$/],
      [{ domain: "web1", file: root }, 400, "DUMP_IN_DIRECTORY", new RegExp(`^Cannot dump core in a directory: ${root}$`)],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await post(body);
      const answer = (await res.json()) as { code: string; message: string };
      expect([res.status, answer.code]).toEqual([status, code]);
      expect(answer.message).toMatch(message);
    }
    expect(hv.dumps).toBe(0);
  });

  it("answers a failed dump with DUMP_FAILED and leaves -incomplete", async () => {
    hv.failAfterBytes = 100;
    const file = join(root, "x.core");
    const res = await post({ domain: "web1", file });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ code: "DUMP_FAILED", message: `Failed to dump core: ENOSPC: no space left on device, write; partial dump left as ${file}-incomplete` });
    expect(existsSync(`${file}-incomplete`)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it("streams progress as NDJSON when asked, ending with the result", async () => {
    hv.guests.set(7, makeGuest(7, "big", 8192)); // 32 MiB: several progress reports
    const res = await post({ domain: "big", progress: true, file: join(root, "big.core") });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as Record<string, { done: number; total: number; file: string }>);
    const last = lines.at(-1)!;
    expect(last.result!.file).toBe(join(root, "big.core"));
    const progress = lines.filter((l) => l.progress).map((l) => l.progress!);
    expect(progress.at(-1)).toEqual({ done: 8192 * PAGE, total: 8192 * PAGE });
  });

  it("streams the error as the last line", async () => {
    const res = await post({ domain: "nosuch", progress: true });
    expect((await res.text()).trim()).toBe(JSON.stringify({ error: { code: "DOMAIN_NOT_FOUND", message: "Domain 'nosuch' does not exist.", params: { dom: "nosuch" } } }));
  });
});

describe("legacy HTTP op=dump", () => {
  it("is registered with the unix-server's registry and dumps as xend's op_dump did", async () => {
    const op = t.legacyHttp.domainOp("dump");
    expect(op).toBeDefined();
    await expect(op!.run(await summaryOf("web1"), { file: "legacy.core", live: "1", crash: "0" })).resolves.toBeUndefined();
    expect(XenCoreFile.open(join(dumpDir(), "legacy.core")).domain.domid).toBe(5);
    expect(hv.pausedDuringDump).toEqual([false]);
    rmSync(join(dumpDir(), "legacy.core"));
    await op!.run(await summaryOf("db1"), {});
    expect(readdirSync(dumpDir())).toEqual([expect.stringMatching(/-db1\.6\.core$/)]);
    await expect(op!.run(await summaryOf("web1"), { live: "yes" })).rejects.toThrow(/^invalid literal for int\(\): yes$/);
    await instance.stop!();
    expect(t.legacyHttp.domainOp("dump")).toBeUndefined();
  });

  it("confines the file to the dump directory: no absolute path, no .., no symbolic link out (issue 13 §2)", async () => {
    const op = t.legacyHttp.domainOp("dump")!;
    const web1 = await summaryOf("web1");
    const outside = join(root, "outside");
    mkdirSync(outside, { recursive: true });
    mkdirSync(dumpDir(), { recursive: true });
    symlinkSync(outside, join(dumpDir(), "escape"));
    await expect(op.run(web1, { file: join(outside, "abs.core") })).rejects.toThrow(`${join(outside, "abs.core")}: an absolute path is accepted only from xm dump-core on the control socket; give a name inside the dump directory`);
    await expect(op.run(web1, { file: "../../../outside/dots.core" })).rejects.toThrow(`../../../outside/dots.core: leads out of ${dumpDir()}`);
    await expect(op.run(web1, { file: "escape/link.core" })).rejects.toThrow(`escape/link.core: leads out of ${dumpDir()} through a symbolic link (to ${outside})`);
    await expect(op.run(web1, { file: "x\n[forged] line.core" })).rejects.toThrow("x\\n[forged] line.core: a file name may not contain control characters");
    expect(readdirSync(outside)).toEqual([]);
  });
});
