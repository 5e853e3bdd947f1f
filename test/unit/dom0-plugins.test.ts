import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPluginHarness, type ConfigValue, type DomainCreateRequest } from "xvm/plugin";
import type { HostResources } from "../../src/domain/types.ts";
import { afterEach, describe, expect, it } from "vitest";
import dom0MinMem from "../../plugins/dom0-min-mem/index.ts";
import dom0Cpus from "../../plugins/dom0-cpus/index.ts";
import type { PluginDefinition, PluginInstance } from "../../src/plugin/contract.ts";
import { XvmError } from "../../src/errors.ts";
import { onlineCpus, processAffinity } from "../../src/host/cpus.ts";
import { fakeContext, guestConfig, setUp, summary, type FakeContext } from "../helpers/host-plugin-context.ts";

const MiB = 1024;
const minMem = dom0MinMem as PluginDefinition;
const cpusPlugin = dom0Cpus as PluginDefinition;

let fakes: FakeContext[] = [];
let roots: string[] = [];
afterEach(() => {
  for (const f of fakes) f.cleanup();
  fakes = [];
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});
function track(f: FakeContext): FakeContext {
  fakes.push(f);
  return f;
}

async function refused(work: () => unknown): Promise<XvmError> {
  try {
    await work();
  } catch (error) {
    if (error instanceof XvmError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

const create = (instance: PluginInstance, name: string, mib: number) =>
  instance.hooks!.domainPreCreate!({ config: guestConfig(name, { memory: mib }), needKiB: mib * MiB });

describe("the dom0-min-mem plugin", () => {
  it("gives Domain-0 the whole host at first and publishes it", async () => {
    const fake = track(fakeContext(minMem, {}, 8192 * MiB));
    await setUp(minMem, fake);
    expect(fake.resources).toEqual({ totalMemoryKiB: 8192 * MiB, dom0MemoryKiB: 8192 * MiB });
    expect(fake.lines).toContain("INFO (dom0-min-mem) dom0-min-mem: host memory 8192 MiB; Domain-0 holds 8192 MiB and keeps at least 196 MiB");
  });

  it("takes config/host-memory over the host's memory", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 1024 }, 8192 * MiB));
    await setUp(minMem, fake);
    expect(fake.resources).toEqual({ totalMemoryKiB: 1024 * MiB, dom0MemoryKiB: 1024 * MiB });
  });

  it("balloons Domain-0 for each guest and refuses one that would take it below the minimum", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 1024 }));
    const instance = await setUp(minMem, fake);
    await create(instance, "a", 512);
    expect(fake.resources.dom0MemoryKiB).toBe(512 * MiB);
    fake.domains = [summary(1, guestConfig("a", { memory: 512 }))];
    await instance.hooks!.domainCreated!(fake.domains[0]!);

    const error = await refused(() => create(instance, "b", 400));
    expect(error.code).toBe("NO_MEMORY");
    expect(error.message).toBe("I need 409600 KiB, but dom0_min_mem is 200704 and shrinking to 200704 KiB would leave only 323584 KiB free.");
    expect(fake.lines).toContain(`ERROR (dom0-min-mem) ${error.message}`);
    expect(fake.resources.dom0MemoryKiB).toBe(512 * MiB);

    await create(instance, "b", 316);
    expect(fake.resources.dom0MemoryKiB).toBe(196 * MiB);
  });

  it("balloons for a guest that grows, refuses Domain-0 below its minimum, and lets it grow into free memory", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 2048 }));
    const instance = await setUp(minMem, fake);
    await create(instance, "a", 512);
    const a = summary(1, guestConfig("a", { memory: 512 }));
    fake.domains = [a];
    await instance.hooks!.domainPreMemoryChange!(a, 1024);
    expect(fake.resources.dom0MemoryKiB).toBe(1024 * MiB);
    a.memory = 1024;
    // Shrinking a guest frees memory without touching Domain-0.
    await instance.hooks!.domainPreMemoryChange!(a, 256);
    expect(fake.resources.dom0MemoryKiB).toBe(1024 * MiB);
    a.memory = 256;

    const dom0 = summary(0, guestConfig("Domain-0", { memory: 1024 }));
    const below = await refused(() => instance.hooks!.domainPreMemoryChange!(dom0, 100));
    expect(below.message).toBe("Cannot set Domain-0's memory to 100 MiB: dom0-min-mem is 196 MiB (config/dom0-min-mem).");
    const tooBig = await refused(() => instance.hooks!.domainPreMemoryChange!(dom0, 2000));
    expect(tooBig.message).toBe("Cannot grow Domain-0 to 2000 MiB: it has 1024 MiB and only 768 MiB is free.");
    await instance.hooks!.domainPreMemoryChange!(dom0, 1792);
    expect(fake.resources.dom0MemoryKiB).toBe(1792 * MiB);
  });

  it("keeps Domain-0's allocation across a restart of xend", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 1024 }));
    const instance = await setUp(minMem, fake);
    await create(instance, "a", 256);
    const path = join(fake.root, "var/lib/xend/state/dom0-memory.json");
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ totalKiB: 1024 * MiB, dom0KiB: 768 * MiB });

    fake.domains = [];
    fake.resources = {};
    await setUp(minMem, fake);
    expect(fake.resources).toEqual({ totalMemoryKiB: 1024 * MiB, dom0MemoryKiB: 768 * MiB });
  });

  it("after a restart with another total, adds free memory or takes it from Domain-0 once guests show up", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 1024 }));
    const instance = await setUp(minMem, fake);
    await create(instance, "a", 256);
    fake.domains = [summary(1, guestConfig("a", { memory: 256 }))];

    fake.config["host-memory"] = 2048;
    fake.resources = {};
    await setUp(minMem, fake);
    expect(fake.resources).toEqual({ totalMemoryKiB: 2048 * MiB, dom0MemoryKiB: 768 * MiB });

    // Smaller, and the guests are only re-attached after setup: Domain-0 gives way at the next hook.
    fake.config["host-memory"] = 512;
    fake.resources = {};
    fake.domains = [];
    const again = await setUp(minMem, fake);
    expect(fake.resources.dom0MemoryKiB).toBe(512 * MiB);
    fake.domains = [summary(1, guestConfig("a", { memory: 256 }))];
    await create(again, "b", 56);
    expect(fake.resources.dom0MemoryKiB).toBe(200 * MiB);
    expect(fake.lines).toContain("WARNING (dom0-min-mem) dom0-min-mem: guests hold 256 MiB of 512 MiB: Domain-0 has 256 MiB left");
  });

  it("refuses a refresh it cannot honour, keeping the previous values, and applies good ones", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 1024 }));
    const instance = await setUp(minMem, fake);
    await create(instance, "a", 512);
    fake.domains = [summary(1, guestConfig("a", { memory: 512 }))];

    fake.config["dom0-min-mem"] = 2000;
    const tooBig = await refused(() => instance.refresh!(new Map([["dom0-min-mem", [196, 2000]]])));
    expect(tooBig.message).toBe("config/dom0-min-mem: 2000 MiB is more than the host's 1024 MiB; keeping 196 MiB");
    fake.config["dom0-min-mem"] = 196;

    fake.config["host-memory"] = 600;
    const small = await refused(() => instance.refresh!(new Map([["host-memory", [1024, 600]]])));
    expect(small.message).toBe(
      "config/host-memory: 600 MiB cannot hold the guests' 512 MiB and Domain-0's minimum of 196 MiB (config/dom0-min-mem); keeping 1024 MiB",
    );
    expect(fake.resources).toEqual({ totalMemoryKiB: 1024 * MiB, dom0MemoryKiB: 512 * MiB });

    fake.config["host-memory"] = 2048;
    fake.config["dom0-min-mem"] = 300;
    await instance.refresh!(new Map());
    expect(fake.resources).toEqual({ totalMemoryKiB: 2048 * MiB, dom0MemoryKiB: 512 * MiB });
    const error = await refused(() => create(instance, "b", 1300));
    expect(error.message).toBe("I need 1331200 KiB, but dom0_min_mem is 307200 and shrinking to 307200 KiB would leave only 1265664 KiB free.");
  });

  it("degrades at start on a minimum bigger than the host and falls back to the default", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 512, "dom0-min-mem": 1000 }));
    await setUp(minMem, fake);
    expect(fake.degraded).toEqual(["config/dom0-min-mem: 1000 MiB is more than the host's 512 MiB; using 196 MiB instead"]);
    expect(existsSync(join(fake.root, "var/lib/xend/state/dom0-memory.json"))).toBe(true);
  });

  it("with dom0-min-mem 0 never balloons, as Xen 3.1", async () => {
    const fake = track(fakeContext(minMem, { "host-memory": 1024, "dom0-min-mem": 0 }));
    const instance = await setUp(minMem, fake);
    const error = await refused(() => create(instance, "a", 1));
    expect(error.message).toBe("Not enough free memory and dom0_min_mem is 0, so I cannot release any more.  I need 1024 KiB but only have 0.");
  });
});

describe("the dom0-cpus plugin", () => {
  const cpus = () => {
    const allowed = processAffinity("self") ?? onlineCpus();
    return onlineCpus().filter((c) => allowed.includes(c));
  };

  /** The plugin through the real plugin host (xvm/plugin's harness), recording what it tells the domain manager. */
  const start = async (config: Record<string, ConfigValue> = {}) => {
    const root = mkdtempSync(join(tmpdir(), "xvm-dom0-cpus-"));
    roots.push(root);
    const resources: HostResources = {};
    const h = await startPluginHarness(cpusPlugin, { root, config, domains: { setHostResources: (r) => void Object.assign(resources, r) } });
    return { h, resources };
  };

  it("with 0 gives Domain-0 one vCPU per CPU, pinned one to one, and leaves guests unplaced", async () => {
    const { h, resources } = await start();
    expect(resources.dom0Vcpus).toEqual(cpus().map((c) => ({ cpu: c, affinity: [c] })));
    expect(processAffinity("self")).toEqual(cpus());
    const request: DomainCreateRequest = { config: guestConfig("g"), needKiB: 0 };
    await h.fire("domainPreCreate", request);
    expect(request.placement).toBeUndefined();
    expect(h.reasons).toEqual([]);
    await h.stop();
  });

  it("refuses more CPUs than the host has: at start (falling back to 0) and on refresh (keeping the value)", async () => {
    const n = cpus().length;
    const { h, resources } = await start({ "dom0-cpus": n + 1 });
    const list = n === 1 ? `${cpus()[0]}` : `${cpus()[0]}-${cpus()[n - 1]}`;
    expect(h.reasons).toEqual([
      `config/dom0-cpus: dom0-cpus is ${n + 1} but this host has only ${n} CPU${n === 1 ? "" : "s"} (${list}); using 0 (one vCPU per physical CPU) instead`,
    ]);
    expect(resources.dom0Vcpus).toHaveLength(n);

    await h.refresh({ "dom0-cpus": 0 });
    expect(h.reasons).toEqual([]);

    await h.refresh({ "dom0-cpus": n + 5 });
    expect(h.reasons).toEqual([`config/dom0-cpus: dom0-cpus is ${n + 5} but this host has only ${n} CPU${n === 1 ? "" : "s"} (${list}); keeping 0 (one vCPU per physical CPU)`]);
    expect(h.config["dom0-cpus"]).toBe(0);
    expect(resources.dom0Vcpus).toHaveLength(n);
    await h.stop();
  });
});
