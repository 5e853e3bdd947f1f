/**
 * enable-dump and the `.partial` files a daemon killed mid-dump leaves behind: renamed
 * `<file>-incomplete` at plugin setup (and at each later prune) once nobody writes them, then
 * counted by dump-limit; young ones (the runner may still be writing) and other files left alone.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import plugin from "../../plugins/enable-dump/index.ts";
import { STALE_PARTIAL_MS, recoverPartials } from "../../plugins/enable-dump/dump-file.ts";
import type { ConfigChanges, PluginInstance } from "../../src/plugin/contract.ts";
import { FakeHypervisor, type DumpTestContext, makeGuest, pluginContext } from "../helpers/dump-double.ts";

type Config = { "enable-dump": boolean; "dump-directory": string; "dump-limit": number };

let root: string;
let hv: FakeHypervisor;
let t: DumpTestContext<Config>;
let instance: PluginInstance;

const dumpDir = () => join(root, "var/xen/dump");

async function start(config: Partial<Config> = {}): Promise<void> {
  t = pluginContext<Config>(root, hv, { "enable-dump": true, "dump-directory": "/var/xen/dump", "dump-limit": 4096, ...config });
  instance = (await plugin.setup(t.ctx as never)) as PluginInstance;
}

/** A file in the dump directory, `mib` MiB of non-zero bytes, last written `ageSeconds` ago. */
function leftFile(name: string, mib: number, ageSeconds: number): string {
  mkdirSync(dumpDir(), { recursive: true });
  const p = join(dumpDir(), name);
  writeFileSync(p, Buffer.alloc(mib * 2 ** 20, 7));
  const when = new Date(Date.now() - ageSeconds * 1000);
  utimesSync(p, when, when);
  return p;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-dump-partials-"));
  hv = new FakeHypervisor();
  hv.guests.set(5, makeGuest(5, "web1", 32));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("stale .partial dumps", () => {
  it("are renamed -incomplete at setup, logged, with their age kept; young ones and other files stay", async () => {
    const stale = leftFile("2020-0101-0000.00-web1.5.core.partial", 1, 3600);
    const young = leftFile("2020-0101-0001.00-db1.6.core.partial", 1, 1);
    const other = leftFile("notes.partial", 1, 3600);
    const mtime = statSync(stale).mtimeMs;
    await start();
    expect(readdirSync(dumpDir()).sort()).toEqual(["2020-0101-0000.00-web1.5.core-incomplete", "2020-0101-0001.00-db1.6.core.partial", "notes.partial"]);
    expect(statSync(`${stale.slice(0, -".partial".length)}-incomplete`).mtimeMs).toBe(mtime);
    expect(t.logs).toContainEqual(`WARN (enable-dump) ${stale} was left by a dump that did not finish (xend ended during it); renamed to ${stale.slice(0, -".partial".length)}-incomplete`);
    expect([young, other].every(existsSync)).toBe(true);
  });

  it("count for dump-limit once renamed: the oldest goes at setup when over the limit", async () => {
    const oldest = leftFile("2020-0101-0000.00-web1.5.core.partial", 2, 300);
    leftFile("2020-0101-0001.00-web1.5.core", 2, 200);
    await start({ "dump-limit": 3 });
    expect(readdirSync(dumpDir())).toEqual(["2020-0101-0001.00-web1.5.core"]);
    expect(t.logs).toContainEqual(`INFO (enable-dump) dump-limit 3 MiB: removed old dump ${oldest.slice(0, -".partial".length)}-incomplete (2.0 MiB on disk)`);
  });

  it("a partial that turns stale after setup is renamed at the next prune (a dump, a refresh)", async () => {
    await start();
    const p = leftFile("2020-0101-0000.00-web1.5.core.partial", 1, 1);
    await instance.hooks!.domainCrashed!(await t.ctx.domains.get("web1"), { wantDump: false });
    expect(existsSync(p)).toBe(true);
    const old = new Date(Date.now() - STALE_PARTIAL_MS - 1000);
    utimesSync(p, old, old);
    await instance.refresh!(new Map([["dump-limit", [4096, 4096]]]) as ConfigChanges);
    expect(existsSync(p)).toBe(false);
    expect(existsSync(`${p.slice(0, -".partial".length)}-incomplete`)).toBe(true);
  });

  it("leaves the partials this daemon is writing, and a missing directory, alone", () => {
    const p = leftFile("2020-0101-0000.00-web1.5.core.partial", 1, 3600);
    const logs: string[] = [];
    const log = { trace() {}, debug() {}, info() {}, warn: (m: string) => logs.push(m), error() {}, child() { return log; } };
    expect(recoverPartials(dumpDir(), new Set([p]), log)).toEqual([]);
    expect(existsSync(p)).toBe(true);
    expect(recoverPartials(join(root, "nosuch"), new Set(), log)).toEqual([]);
    expect(logs).toEqual([]);
  });
});
