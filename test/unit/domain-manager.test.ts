import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDomainManager, type DomainManagerHandle } from "../../src/domain/manager.ts";
import type { DomainConfig, DomainSummary } from "../../src/domain/types.ts";
import { XvmError } from "../../src/errors.ts";
import { Paths } from "../../src/paths.ts";
import type { Hooks, Logger } from "../../src/plugin/contract.ts";
import { waitFor } from "../helpers/cli.ts";
import { FAKE_PHYS, FakeDriver } from "../helpers/domain-fake-driver.ts";

interface Setup {
  driver: FakeDriver;
  manager: DomainManagerHandle;
  logs: string[];
  hooks: string[];
  clock: { now: number };
  /** Hook implementations the test sets. */
  on: Partial<Hooks>;
}

let root: string;
const managers: DomainManagerHandle[] = [];

function logger(lines: string[]): Logger {
  const at = (level: string) => (m: string) => void lines.push(`${level} ${m}`);
  const log: Logger = { trace: at("TRACE"), debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR"), child: () => log };
  return log;
}

async function setup(driver = new FakeDriver(), clock = { now: 1_800_000_000_000 }): Promise<Setup> {
  const logs: string[] = [];
  const hooks: string[] = [];
  const on: Partial<Hooks> = {};
  const manager = createDomainManager({
    driver,
    paths: new Paths(root),
    log: logger(logs),
    now: () => clock.now,
    fire: async (hook, ...args) => {
      const first = args[0] as { name?: string; config?: { name: string } };
      hooks.push(`${hook} ${first?.name ?? first?.config?.name ?? ""}`.trim());
      const fn = on[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (fn) await fn(...args);
    },
  });
  managers.push(manager);
  await manager.attach();
  return { driver, manager, logs, hooks, clock, on };
}

function config(name: string, extra: Partial<DomainConfig> = {}): DomainConfig {
  return { name, memory: 64, vcpus: 1, kernel: "sim:counter", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [], ...extra };
}

async function refusal(p: Promise<unknown>): Promise<XvmError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(XvmError);
    return error as XvmError;
  }
  throw new Error("expected a refusal");
}

const names = async (m: DomainManagerHandle) => (await m.list()).map((d) => `${d.name}:${d.domid}:${d.state}`);

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-domain-manager-"));
});

afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  rmSync(root, { recursive: true, force: true });
});

describe("creating domains", () => {
  it("gives ids from 1, uuids, and each vif without a MAC a unique one in 00:16:3e", async () => {
    const { manager, hooks, driver } = await setup();
    const a = await manager.create(config("web1", { vif: [{}, { mac: "00:16:3e:00:00:01" }, {}] }));
    const b = await manager.create(config("web2", { vif: [{}] }));
    expect([a.domid, b.domid]).toEqual([1, 2]);
    expect(a.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const macs = [...a.config.vif, ...b.config.vif].map((v) => v.mac!);
    expect(macs[1]).toBe("00:16:3e:00:00:01");
    for (const mac of macs) expect(mac).toMatch(/^00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2}$/);
    expect(new Set(macs).size).toBe(4);
    expect(hooks).toEqual(["domainPreCreate web1", "domainCreated web1", "domainPreCreate web2", "domainCreated web2"]);
    expect(driver.guests.get(1)!.spec).toMatchObject({ memoryKiB: 65536, maxMemKiB: 65536, vcpus: 1, maxVcpus: 1, kernel: "sim:counter", paused: false });
    expect(await names(manager)).toEqual(["Domain-0:0:r-----", "web1:1:-b----", "web2:2:-b----"]);
  });

  it("accounts Domain-0 as this host: all memory no guest holds", async () => {
    const { manager } = await setup();
    await manager.create(config("web1", { memory: 512 }));
    const dom0 = await manager.get("Domain-0");
    expect(dom0).toMatchObject({ domid: 0, name: "Domain-0", memory: 4096 - 512, vcpus: 4, state: "r-----", managed: false });
    expect(await manager.nodeInfo()).toMatchObject({ total_memory: 4096, free_memory: 0, nr_cpus: 4, xen_major: 3, xen_minor: 4, xend_config_format: 4 });
    manager.setHostResources({ dom0MemoryKiB: 1024 * 1024, dom0Vcpus: [{ cpu: 0, affinity: [0] }] });
    expect(await manager.get(0)).toMatchObject({ memory: 1024, vcpus: 1 });
    expect((await manager.nodeInfo()).free_memory).toBe(4096 - 512 - 1024);
  });

  it("refuses a duplicate name or uuid, a bad config and too much memory, and creates nothing", async () => {
    const { manager, driver } = await setup();
    const web1 = await manager.create(config("web1"));
    const before = [...driver.calls];
    expect((await refusal(manager.create(config("web1")))).message).toBe("Domain 'web1' already exists with ID '1'");
    expect((await refusal(manager.create(config("web9", { uuid: web1.uuid })))).code).toBe("DOMAIN_UUID_TAKEN");
    expect((await refusal(manager.create(config("Domain-0")))).code).toBe("DOMAIN_CONFIG");
    const bad = await refusal(manager.create(config("web2", { memory: 512, maxmem: 256, vcpus: 4, maxvcpus: 2 })));
    expect(bad.code).toBe("DOMAIN_CONFIG");
    expect(bad.message).toBe("maxmem (256 MiB) must not be below memory (512 MiB); vcpus (4) must not exceed maxvcpus (2)");
    const big = await refusal(manager.create(config("huge", { memory: 8192 })));
    expect(big.code).toBe("NO_MEMORY");
    expect(big.message).toBe("Domain 'huge' needs 8192 MiB, more than this host's 4096 MiB of memory.");
    const cpus = await refusal(manager.create(config("pinned", { cpus: "2-5" })));
    expect(cpus.message).toBe("cpus '2-5': CPU 4-5 does not exist on this host (it has 4: 0-3)");
    expect(driver.calls).toEqual(before);
    expect(await names(manager)).toEqual(["Domain-0:0:r-----", "web1:1:-b----"]);
  });

  it("lets domainPreCreate refuse (nothing created, no id used) or fill in the config and placement", async () => {
    const { manager, driver, on } = await setup();
    on.domainPreCreate = () => {
      throw new XvmError("NO_MEMORY", { detail: "I need 65536 KiB, but dom0_min_mem is 196 and shrinking to 200 KiB would leave only 0 KiB free." });
    };
    expect((await refusal(manager.create(config("web1")))).message).toContain("dom0_min_mem is 196");
    expect(driver.calls).toEqual([]);
    on.domainPreCreate = (request) => {
      request.config.vif = request.config.vif.map((v) => ({ ...v, bridge: v.bridge ?? "eth0" }));
      request.placement = [2, 3];
    };
    const d = await manager.create(config("web1", { vif: [{}], vcpus: 2 }));
    expect(d.domid).toBe(1);
    expect(d.config.vif[0]!.bridge).toBe("eth0");
    expect(driver.guests.get(1)!.spec.affinity).toEqual([[2, 3], [2, 3]]);
  });

  it("finds domains by name, id and uuid, and says which one does not exist", async () => {
    const { manager } = await setup();
    const d = await manager.create(config("web1"));
    for (const ref of ["web1", 1, "1", d.uuid, d.uuid.toUpperCase()]) expect((await manager.get(ref)).name).toBe("web1");
    expect((await manager.get("00000000-0000-0000-0000-000000000000")).name).toBe("Domain-0");
    const e = await refusal(manager.get("nope"));
    expect([e.code, e.message, e.status]).toEqual(["DOMAIN_NOT_FOUND", "Domain 'nope' does not exist.", 404]);
  });
});

describe("operations", () => {
  it("pauses and unpauses (again: no error, no driver call, as xend 3.4), refusing to touch Domain-0", async () => {
    const { manager, driver } = await setup();
    await manager.create(config("web1"));
    await manager.pause("web1");
    expect((await manager.get(1)).state).toBe("--p---");
    const calls = driver.calls.length;
    await manager.pause("web1");
    expect((await manager.get(1)).state).toBe("--p---");
    expect(driver.calls.slice(calls).filter((c) => /pause/.test(c))).toEqual([]);
    await manager.unpause(1);
    const afterUnpause = driver.calls.length;
    await manager.unpause(1);
    expect(driver.calls.slice(afterUnpause).filter((c) => /pause/.test(c))).toEqual([]);
    expect((await refusal(manager.pause(0))).message).toBe("Cannot pause privileged domain 0");
    expect((await refusal(manager.destroy("Domain-0"))).code).toBe("DOMAIN_PRIVILEGED");
    expect((await refusal(manager.pause("ghost"))).code).toBe("DOMAIN_NOT_FOUND");
  });

  it("balloons within maxmem and the host's memory, and records Domain-0's target", async () => {
    const { manager, driver, hooks } = await setup();
    await manager.create(config("web1", { memory: 256, maxmem: 1024 }));
    await manager.setMemoryTarget("web1", 128);
    expect(driver.guests.get(1)!.targetKiB).toBe(128 * 1024);
    expect((await manager.get("web1")).memory).toBe(128);
    expect(hooks.filter((h) => h.startsWith("domainPreMemoryChange") || h.startsWith("domainMemoryChanged"))).toEqual(["domainPreMemoryChange web1", "domainMemoryChanged web1"]);
    expect((await refusal(manager.setMemoryTarget("web1", 2048))).message).toBe("memory target 2048 MiB is above the maximum 1024 MiB of domain 'web1' (raise it with xm mem-max)");
    expect((await refusal(manager.setMaxMemory("web1", 64))).code).toBe("DOMAIN_CONFIG");
    await manager.setMemoryTarget(0, 2048);
    expect((await manager.get(0)).memory).toBe(2048);
    expect((await manager.nodeInfo()).free_memory).toBe(4096 - 128 - 2048);
    // Domain-0's allocation is now fixed: a guest must fit in what is free.
    await manager.setMaxMemory("web1", 4096);
    const e = await refusal(manager.setMemoryTarget("web1", 3000));
    expect(e.code).toBe("NO_MEMORY");
    expect(driver.guests.get(1)!.targetKiB).toBe(128 * 1024);
  });

  it("sets and pins vCPUs within bounds", async () => {
    const { manager, driver } = await setup();
    await manager.create(config("web1", { vcpus: 1, maxvcpus: 2 }));
    await manager.setVcpus("web1", 2);
    expect((await manager.get("web1")).vcpus).toBe(2);
    expect((await refusal(manager.setVcpus("web1", 3))).message).toBe("Domain 'web1' can have 1 to 2 vCPUs (maxvcpus), not 3.");
    await manager.pinVcpu("web1", 1, [1, 3]);
    expect(driver.guests.get(1)!.affinity[1]).toEqual([1, 3]);
    await manager.pinVcpu("web1", "all", "all");
    expect(driver.guests.get(1)!.affinity).toEqual([[], []]);
    expect((await refusal(manager.pinVcpu("web1", 0, [7]))).message).toBe("CPU 7 does not exist on this host (it has 4)");
    expect((await refusal(manager.pinVcpu("web1", 5, [0]))).message).toBe("Domain 'web1' has no vCPU 5 (it has 2: 0-1)");
  });

  it("sets Domain-0's online vCPUs within what dom0-cpus gives it (xm vcpu-set 0 N)", async () => {
    const { manager } = await setup();
    await manager.setVcpus(0, 2);
    let dom0 = await manager.get(0);
    expect([dom0.vcpus, dom0.vcpuInfo.map((v) => v.online)]).toEqual([2, [true, true, false, false]]);
    expect(dom0.vcpuInfo[3]!.cpu).toBe(-1);
    expect((await refusal(manager.setVcpus(0, 5))).message).toBe("Domain 'Domain-0' can have 1 to 4 vCPUs (config/dom0-cpus), not 5.");
    expect((await refusal(manager.setVcpus("Domain-0", 0))).code).toBe("NO_VCPUS");
    // dom0-cpus narrowing Domain-0 to one CPU caps the count.
    manager.setHostResources({ dom0Vcpus: [{ cpu: 0, affinity: [0] }] });
    dom0 = await manager.get(0);
    expect(dom0.vcpus).toBe(1);
    expect((await refusal(manager.setVcpus(0, 2))).message).toBe("Domain 'Domain-0' can have 1 to 1 vCPUs (config/dom0-cpus), not 2.");
    await manager.setVcpus(0, 1);
  });

  it("renames, keeping the name in the driver's record and refusing a taken name", async () => {
    const { manager, driver } = await setup();
    await manager.create(config("web1"));
    await manager.create(config("web2"));
    expect((await refusal(manager.rename("web1", "web2"))).message).toBe("Domain 'web2' already exists with ID '2'");
    expect((await refusal(manager.rename("web1", "bad name"))).code).toBe("DOMAIN_CONFIG");
    await manager.rename("web1", "www");
    expect(driver.guests.get(1)!.name).toBe("www");
    expect((driver.guests.get(1)!.meta as { config: DomainConfig }).config.name).toBe("www");
    expect((await manager.get("www")).domid).toBe(1);
  });

  it("follows a console until the domain goes away", async () => {
    const { manager, driver } = await setup();
    await manager.create(config("web1"));
    expect(await manager.consoleRead("web1")).toBe("booting sim:counter\n");
    const watch = await manager.watchConsole("web1");
    const seen: string[] = [];
    watch.onData((d) => seen.push(d));
    watch.onEnd((r) => seen.push(`end: ${r}`));
    driver.print(1, "heartbeat 1\n");
    await manager.consoleWrite("web1", "help\n");
    await manager.destroy("web1");
    expect(seen).toEqual(["heartbeat 1\n", "end: the domain was destroyed"]);
    expect(driver.calls).toContain('console 1 "help\\n"');
  });
});

describe("shutdown and crash actions", () => {
  it("destroys a guest that powers off (on_poweroff = destroy)", async () => {
    const { manager, hooks } = await setup();
    await manager.create(config("web1"));
    await manager.shutdown("web1", "poweroff");
    await waitFor(async () => (await names(manager)).length === 1, "web1 to go");
    expect(hooks.slice(2)).toEqual(["domainShutdown web1", "domainDestroyed web1"]);
  });

  it("restarts a guest that reboots under a new id with the same name and uuid", async () => {
    const { manager } = await setup();
    const d = await manager.create(config("web1"));
    await manager.shutdown("web1", "reboot");
    const again = await waitFor(async () => {
      const x = await manager.get("web1").catch(() => undefined);
      return x && x.domid !== 1 ? x : undefined;
    }, "web1 to restart");
    expect([again.domid, again.uuid, again.restartCount]).toEqual([2, d.uuid, 1]);
  });

  it("lists a restarting domain as dying until its successor exists; operations wait and apply to the successor", async () => {
    const { manager, on } = await setup();
    await manager.create(config("web1"));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    on.domainPreCreate = async () => {
      entered = true;
      await gate;
    };
    await manager.shutdown("web1", "reboot");
    await waitFor(() => entered, "the restart to begin");
    expect(await manager.get("web1")).toMatchObject({ domid: 1, state: "-----d", restartCount: 0 });
    expect(await names(manager)).toEqual(["Domain-0:0:r-----", "web1:1:-----d"]);
    const paused = manager.pause("web1");
    const byId = manager.pause(1);
    release();
    await paused;
    expect((await refusal(byId)).message).toBe("Domain '1' does not exist.");
    expect(await names(manager)).toEqual(["Domain-0:0:r-----", "web1:2:--p---"]);
  });

  it("refuses to shut down a paused guest (it could not act on the request)", async () => {
    const { manager } = await setup();
    await manager.create(config("web1"));
    await manager.pause("web1");
    expect((await refusal(manager.shutdown("web1", "poweroff"))).message).toBe("Domain 'web1' is paused; cannot shut down.");
  });

  it("fires domainCrashed and waits for it before the on_crash action (crash dumps need the guest)", async () => {
    const { manager, driver, on, hooks } = await setup();
    await manager.create(config("web1", { on_crash: "coredump-destroy" }));
    let release!: () => void;
    const dumped = new Promise<void>((r) => (release = r));
    let seen: { wantDump: boolean } | undefined;
    on.domainCrashed = async (domain, info) => {
      seen = info;
      expect(domain.flags.crashed).toBe(true);
      await dumped;
    };
    await manager.sysrq("web1", "c");
    await waitFor(() => seen, "domainCrashed");
    expect(driver.guests.has(1)).toBe(true);
    release();
    await waitFor(() => !driver.guests.has(1), "web1 destroyed after the hook");
    expect(seen).toEqual({ wantDump: true });
    expect(hooks.slice(2)).toEqual(["domainCrashed web1", "domainDestroyed web1"]);
  });

  it("keeps a crashed guest with on_crash = preserve until it is destroyed", async () => {
    const { manager } = await setup();
    await manager.create(config("web1", { on_crash: "preserve" }));
    await manager.sysrq("web1", "c");
    await waitFor(async () => (await manager.get("web1")).state === "----c-", "web1 crashed");
    expect((await refusal(manager.pause("web1"))).message).toBe("Domain 'web1' is crashed; cannot pause.");
    await manager.destroy("web1");
    expect(await names(manager)).toEqual(["Domain-0:0:r-----"]);
  });

  it("rename-restart keeps the crashed domain under a new name and uuid, and restarts the config", async () => {
    const { manager } = await setup();
    const d = await manager.create(config("web1", { on_crash: "rename-restart" }));
    await manager.sysrq(1, "c");
    await waitFor(async () => (await manager.list()).length === 3, "the restarted web1");
    const all = await manager.list();
    const old = all.find((x) => x.domid === 1)!;
    const fresh = all.find((x) => x.name === "web1")!;
    expect(old.name).toBe(`Domain-${old.uuid}`);
    expect(old.state).toBe("----c-");
    expect([fresh.domid, fresh.uuid, fresh.restartCount]).toEqual([2, d.uuid, 1]);
  });

  it("guards against restart loops: a second restart within MINIMUM_RESTART_TIME destroys the domain", async () => {
    const { manager, clock, logs } = await setup();
    await manager.create(config("web1"));
    await manager.sysrq("web1", "c");
    await waitFor(async () => (await manager.get("web1").catch(() => undefined))?.domid === 2, "first restart");
    clock.now += 59_000;
    await manager.sysrq("web1", "c");
    await waitFor(async () => (await manager.list()).length === 1, "web1 destroyed");
    expect(logs).toContain("ERROR VM web1 restarting too fast (59.000000 seconds since the last restart).  Refusing to restart to avoid loops.");
    expect(manager.dmesg()).toContain("(XEN) Domain 2 (web1) restarting too fast; destroyed");
  });

  it("restarts again once MINIMUM_RESTART_TIME has passed", async () => {
    const { manager, clock } = await setup();
    await manager.create(config("web1"));
    await manager.sysrq("web1", "c");
    await waitFor(async () => (await manager.get("web1").catch(() => undefined))?.domid === 2, "first restart");
    clock.now += 61_000;
    await manager.sysrq("web1", "c");
    await waitFor(async () => (await manager.get("web1").catch(() => undefined))?.domid === 3, "second restart");
    expect((await manager.get("web1")).restartCount).toBe(2);
  });

  it("treats a lost runner as a crash of that domain only", async () => {
    const { manager, driver, hooks } = await setup();
    await manager.create(config("a", { on_crash: "destroy" }));
    await manager.create(config("b"));
    await manager.create(config("c"));
    driver.killRunner(2);
    await waitFor(async () => (await manager.get("b").catch(() => undefined))?.domid === 4, "b restarted");
    expect(await names(manager)).toEqual(["Domain-0:0:r-----", "a:1:-b----", "b:4:-b----", "c:3:-b----"]);
    expect(hooks).toContain("domainCrashed b");
    expect(driver.calls).not.toContain("destroy 2");
    driver.killRunner(1);
    await waitFor(async () => (await manager.list()).length === 3, "a gone (on_crash destroy)");
  });
});

describe("managed domains", () => {
  it("defines, starts, refuses to delete while running, and deletes", async () => {
    const { manager } = await setup();
    const d = await manager.define(config("db", { memory: 128, on_xend_start: "ignore" }));
    expect(d).toMatchObject({ domid: null, name: "db", managed: true, state: "------", memory: 128 });
    const file = join(root, "var/lib/xend/domains", d.uuid, "config.json");
    expect(JSON.parse(readFileSync(file, "utf8"))).toMatchObject({ name: "db", uuid: d.uuid, memory: 128 });
    const started = await manager.start("db");
    expect([started.domid, started.uuid, started.managed]).toEqual([1, d.uuid, true]);
    expect((await refusal(manager.start("db"))).message).toBe("Domain 'db' is already running; cannot start.");
    expect((await refusal(manager.undefine("db"))).message).toBe("Domain 'db' is running (destroy or shut it down first); cannot delete.");
    await manager.destroy("db");
    expect((await manager.get("db")).domid).toBeNull();
    await manager.undefine("db");
    expect(existsSync(file)).toBe(false);
    expect((await refusal(manager.get("db"))).code).toBe("DOMAIN_NOT_FOUND");
  });

  it("replaces a managed config on a second define and keeps its uuid; refuses create under its name", async () => {
    const { manager } = await setup();
    const a = await manager.define(config("db"));
    const b = await manager.define(config("db", { memory: 256 }));
    expect(b.uuid).toBe(a.uuid);
    expect(b.memory).toBe(256);
    expect((await refusal(manager.create(config("db")))).code).toBe("DOMAIN_NAME_TAKEN");
  });

  it("keeps managed configs across daemon restarts and starts on_xend_start = start domains", async () => {
    const first = await setup();
    const d = await first.manager.define(config("auto", { on_xend_start: "start" }));
    await first.manager.define(config("manual"));
    await first.manager.close();
    const second = await setup(new FakeDriver());
    // attach() re-attaches only; on_xend_start is the domains service's start (or the daemon's own step).
    expect(await names(second.manager)).toEqual(["Domain-0:0:r-----", "auto:null:------", "manual:null:------"]);
    expect(await second.manager.onXendStart()).toEqual([{ name: "auto", uuid: d.uuid, action: "started", domid: 1 }]);
    expect(await names(second.manager)).toEqual(["Domain-0:0:r-----", "auto:1:-b----", "manual:null:------"]);
    expect((await second.manager.get("auto")).uuid).toBe(d.uuid);
  });
});

describe("re-attaching after a daemon restart", () => {
  it("finds the same guests with the same ids, names, uuids and configs, and never reuses an id", async () => {
    const driver = new FakeDriver();
    const first = await setup(driver);
    const made: DomainSummary[] = [];
    for (const n of ["g1", "g2", "g3"]) made.push(await first.manager.create(config(n, { vif: [{}] })));
    await first.manager.destroy("g3");
    await first.manager.close();
    const second = await setup(driver);
    const now = await second.manager.list();
    for (const m of made.slice(0, 2)) {
      const d = now.find((x) => x.name === m.name)!;
      expect([d.domid, d.uuid, d.config]).toEqual([m.domid, m.uuid, m.config]);
    }
    expect((await second.manager.create(config("g4"))).domid).toBe(4);
  });

  it("handles a guest whose runner died while no daemon listened as a crash", async () => {
    const driver = new FakeDriver();
    const first = await setup(driver);
    await first.manager.create(config("g1", { on_crash: "destroy" }));
    await first.manager.create(config("g2"));
    await first.manager.close();
    driver.lostWhileDetached.set(1, driver.guests.get(1)!);
    driver.guests.delete(1);
    const second = await setup(driver);
    await waitFor(async () => (await names(second.manager)).join() === "Domain-0:0:r-----,g2:2:-b----", "g1 handled as crashed");
    expect(second.hooks).toContain("domainCrashed g1");
  });

  it("acts on a shutdown that happened while no daemon listened", async () => {
    const driver = new FakeDriver();
    const first = await setup(driver);
    await first.manager.create(config("g1"));
    await first.manager.close();
    driver.guests.get(1)!.life = "shutdown";
    driver.guests.get(1)!.reason = "poweroff";
    const second = await setup(driver);
    await waitFor(async () => (await second.manager.list()).length === 1, "g1 destroyed by on_poweroff");
    expect(FAKE_PHYS.nrCpus).toBe(4);
  });
});
