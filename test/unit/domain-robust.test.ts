/**
 * issue 13 §3/§4 in the domain manager: domain ids are recorded before use and never reused after
 * a restart (a counter that cannot be written refuses the creation: nothing is created), and the
 * MAC assignment is a bounded search.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freeXenMac, MAC_DRAWS } from "../../src/domain/creation.ts";
import { createDomainManager, type DomainManagerHandle } from "../../src/domain/manager.ts";
import type { DomainConfig } from "../../src/domain/types.ts";
import { XvmError } from "../../src/errors.ts";
import { Paths } from "../../src/paths.ts";
import type { Logger } from "../../src/plugin/contract.ts";
import { waitFor } from "../helpers/cli.ts";
import { FakeDriver } from "../helpers/domain-fake-driver.ts";

let root: string;
const managers: DomainManagerHandle[] = [];

const quiet: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

async function manager(driver: FakeDriver, hooks: string[] = []): Promise<DomainManagerHandle> {
  const m = createDomainManager({
    driver, paths: new Paths(root), log: quiet, now: () => 1_800_000_000_000,
    fire: async (hook, ...args) => {
      const first = args[0] as { name?: string; config?: { name: string } };
      hooks.push(`${hook} ${first?.name ?? first?.config?.name ?? ""}`.trim());
    },
  });
  managers.push(m);
  await m.attach();
  return m;
}

function config(name: string, extra: Partial<DomainConfig> = {}): DomainConfig {
  return { name, memory: 64, vcpus: 1, kernel: "sim:counter", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [{}], disk: [], ...extra };
}

const listed = async (m: DomainManagerHandle) => (await m.list()).map((d) => `${d.name.startsWith("Domain-") && d.domid !== 0 ? "Domain-<uuid>" : d.name}:${d.domid}:${d.state}`);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-domain-robust-"));
});

afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  rmSync(root, { recursive: true, force: true });
});

describe("domain ids", () => {
  it("continue past every id handed out after a restart, also one destroyed right away", async () => {
    const driver = new FakeDriver();
    const first = await manager(driver);
    expect((await first.create(config("a"))).domid).toBe(1);
    expect((await first.create(config("b"))).domid).toBe(2);
    await first.destroy("b");
    await first.close();
    const second = await manager(driver);
    expect((await second.create(config("c"))).domid).toBe(3);
  });

  it("are recorded before use: a counter that cannot be written (full disk) refuses the creation, creating nothing", async () => {
    const driver = new FakeDriver();
    const m = await manager(driver);
    expect((await m.create(config("a"))).domid).toBe(1);
    const counter = join(root, "var/run/xend/next-domid");
    expect(readFileSync(counter, "utf8")).toBe("2\n");
    // The rename over the counter fails as it would on a full disk (a folder is in the way).
    rmSync(counter);
    mkdirSync(join(counter, "full"), { recursive: true });
    const calls = driver.calls.length;
    let refused: unknown;
    try {
      await m.create(config("b"));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(XvmError);
    expect((refused as XvmError).code).toBe("DOMID_UNRECORDED");
    expect(driver.calls.slice(calls).filter((c) => c.startsWith("create"))).toEqual([]);
    expect((await m.list()).map((d) => d.name)).toEqual(["Domain-0", "a"]);
    // Space again: the next domain takes the id that was never handed out.
    rmSync(counter, { recursive: true });
    writeFileSync(counter, "2\n");
    expect((await m.create(config("b"))).domid).toBe(2);
  });
});

describe("crash handling across an xend restart (kill -9: the next daemon re-attaches)", () => {
  it("a preserved crashed domain is dumped (domainCrashed) once, and stays listed c", async () => {
    const driver = new FakeDriver();
    const hooks: string[] = [];
    const first = await manager(driver, hooks);
    await first.create(config("web1", { on_crash: "preserve" }));
    await first.sysrq("web1", "c");
    await waitFor(async () => (await first.get("web1")).state === "----c-", "web1 crashed");
    await waitFor(() => hooks.includes("domainCrashed web1"), "the crash handled");
    await first.close();
    const again: string[] = [];
    const second = await manager(driver, again);
    // The manager has re-attached when it resolves: the listing is final, and no hook ran.
    expect(await listed(second)).toEqual(["Domain-0:0:r-----", "web1:1:----c-"]);
    expect(again.filter((h) => h.startsWith("domainCrashed"))).toEqual([]);
  });

  it("rename-restart renames once: no second Domain-<uuid> ghost, no second copy of the config", async () => {
    const driver = new FakeDriver();
    const first = await manager(driver);
    await first.create(config("web1", { on_crash: "rename-restart", vif: [{ mac: "00:16:3e:00:00:42" }] }));
    await first.sysrq(1, "c");
    await waitFor(async () => (await first.list()).length === 3, "the restarted web1");
    await first.close();
    const second = await manager(driver);
    expect(await listed(second)).toEqual(["Domain-0:0:r-----", "Domain-<uuid>:1:----c-", "web1:2:-b----"]);
    expect(driver.calls.filter((c) => c.startsWith("create"))).toHaveLength(2);
  });

  it("a preserved crashed domain whose runner died is still listed after the restart (c), until destroyed", async () => {
    const driver = new FakeDriver();
    const hooks: string[] = [];
    const first = await manager(driver, hooks);
    await first.create(config("web1", { on_crash: "preserve" }));
    await first.sysrq("web1", "c");
    await waitFor(() => hooks.includes("domainCrashed web1"), "the crash handled");
    await first.close();
    // Its runner is killed while no xend runs, and the driver forgets it once reported.
    driver.guests.delete(1);
    const second = await manager(driver);
    expect(await listed(second)).toEqual(["Domain-0:0:r-----", "web1:1:----c-"]);
    await second.close();
    const third = await manager(driver);
    expect(await listed(third)).toEqual(["Domain-0:0:r-----", "web1:1:----c-"]);
    await third.destroy("web1");
    await third.close();
    const fourth = await manager(driver);
    expect(await listed(fourth)).toEqual(["Domain-0:0:r-----"]);
  });

  it("a destroy begun by a daemon killed before the hypervisor acted is finished by the next one", async () => {
    const driver = new FakeDriver();
    const first = await manager(driver);
    await first.create(config("web1"));
    // The destroy's record is written, then the daemon dies before the driver destroys the guest.
    const destroy = driver.destroy.bind(driver);
    driver.destroy = () => new Promise(() => {});
    void first.destroy("web1").catch(() => undefined);
    await waitFor(() => existsSync(join(root, "var/lib/xend/stopped/1.json")), "the destroy recorded");
    driver.destroy = destroy;
    const second = await manager(driver);
    await waitFor(async () => (await second.list()).length === 1, "web1 destroyed by the new daemon");
    expect(driver.guests.has(1)).toBe(false);
    expect(existsSync(join(root, "var/lib/xend/stopped/1.json"))).toBe(false);
  });
});

describe("MAC assignment", () => {
  it("is bounded: a few random draws, then a walk to the first free address, then an error", () => {
    let draws = 0;
    const zero = () => {
      draws++;
      return Buffer.from([0, 0, 0]);
    };
    expect(freeXenMac(new Set(["00:16:3e:00:00:00", "00:16:3e:00:00:01"]), zero)).toBe("00:16:3e:00:00:02");
    expect(draws).toBe(MAC_DRAWS);
  });
});

describe("re-attach with two guests of one uuid (issue 13 §3)", () => {
  /** A second guest with the first's uuid, name and config (as a migration to this host would leave). */
  function twin(driver: FakeDriver, from: number, to: number, paused: boolean): void {
    const g = driver.guests.get(from)!;
    driver.guests.set(to, { ...structuredClone(g), spec: { ...structuredClone(g.spec), domid: to }, paused });
  }

  it("adopts one (the one that runs, else the older), destroys the other, and never lists the uuid twice", async () => {
    const driver = new FakeDriver();
    const logged: string[] = [];
    const first = await manager(driver);
    const uuid = (await first.create(config("mig1"))).uuid;
    await first.close();
    twin(driver, 1, 2, false);
    const log: Logger = { ...quiet, info: (l: string) => logged.push(l), error: (l: string) => logged.push(l), child: () => log };
    const m = createDomainManager({ driver, paths: new Paths(root), log, now: () => 1_800_000_000_000, fire: async () => {} });
    managers.push(m);
    await m.attach();
    expect(await listed(m)).toEqual(["Domain-0:0:r-----", "mig1:1:-b----"]);
    expect((await m.list()).filter((d) => d.uuid === uuid)).toHaveLength(1);
    expect(driver.calls).toContain("destroy 2");
    expect(driver.guests.has(2)).toBe(false);
    expect(logged.find((l) => l.startsWith("re-attached to"))).toBe("re-attached to 1 running domain(s): mig1 (1)");
    expect(logged).toContain(`Domain mig1 (2) has the uuid ${uuid} of domain mig1 (1): not re-attached; destroying this copy`);
  });

  it("keeps the copy that runs over one that is paused (a source stopped for its migration)", async () => {
    const driver = new FakeDriver();
    const first = await manager(driver);
    await first.create(config("mig1"));
    await first.close();
    driver.guests.get(1)!.paused = true;
    twin(driver, 1, 2, false);
    const m = await manager(driver);
    expect(await listed(m)).toEqual(["Domain-0:0:r-----", "mig1:2:-b----"]);
    expect(driver.guests.has(1)).toBe(false);
  });
});
