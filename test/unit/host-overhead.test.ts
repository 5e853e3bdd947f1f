/**
 * issue 13 §4: what a guest costs the host beyond its memory (the driver's guestOverheadKiB: sim's
 * runner process) is counted in the host's memory accounting — Domain-0's share, `xm info`
 * free_memory, the check that refuses a creation, the need a ballooning plugin is asked for — and
 * the sim driver's estimate is the one documented in src/hypervisor/sim/overhead.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createDomainManager, type DomainManagerHandle } from "../../src/domain/manager.ts";
import type { DomainConfig, DomainCreateRequest } from "../../src/domain/types.ts";
import { simRunnerOverheadKiB } from "../../src/hypervisor/sim/overhead.ts";
import { createSimDriver } from "../../src/hypervisor/sim/driver.ts";
import { createQemuDriver } from "../../src/hypervisor/qemu/driver.ts";
import { qemuOverheadKiB } from "../../src/hypervisor/qemu/overhead.ts";
import { Paths } from "../../src/paths.ts";
import type { Logger } from "../../src/plugin/contract.ts";
import { FAKE_PHYS, FakeDriver } from "../helpers/domain-fake-driver.ts";

const quiet: Logger = { trace: () => {}, debug: () => {}, info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };
const MIB = 1024;
const TOTAL_MIB = FAKE_PHYS.totalMemoryKiB / MIB;

/** A driver whose guests each cost the host 5 MiB + 2 MiB per vCPU beyond their memory. */
class CostlyDriver extends FakeDriver {
  guestOverheadKiB(maxVcpus: number): number {
    return (5 + 2 * maxVcpus) * MIB;
  }
}

let root: string;
let m: DomainManagerHandle;
let needs: number[];

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), "xvm-overhead-"));
  needs = [];
  m = createDomainManager({
    driver: new CostlyDriver(), paths: new Paths(root), log: quiet, now: () => 1_800_000_000_000,
    fire: async (hook, ...args) => {
      if (hook === "domainPreCreate") needs.push((args[0] as DomainCreateRequest).needKiB);
    },
  });
  await m.attach();
});

afterEach(async () => {
  await m.close();
  rmSync(root, { recursive: true, force: true });
});

function config(name: string, memory: number, extra: Partial<DomainConfig> = {}): DomainConfig {
  return { name, memory, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [], ...extra };
}

const dom0Mib = async () => (await m.list()).find((d) => d.domid === 0)!.memory;

describe("per-guest host overhead in the memory accounting", () => {
  it("takes each guest's overhead from Domain-0's share, and shows it in the guest's summary", async () => {
    await m.create(config("one", 256));
    await m.create(config("two", 128, { vcpus: 2, maxvcpus: 4 }));
    expect(await dom0Mib()).toBe(TOTAL_MIB - 256 - 7 - 128 - 13);
    const two = (await m.list()).find((d) => d.name === "two")!;
    expect(two.memory).toBe(128);
    expect(two.overheadKiB).toBe(13 * MIB);
    // A ballooning plugin is asked for the memory and the overhead of the new guest.
    expect(needs).toEqual([(256 + 7) * MIB, (128 + 13) * MIB]);
  });

  it("counts it in xm info's free memory once Domain-0's allocation is fixed", async () => {
    m.setHostResources({ dom0MemoryKiB: 1024 * MIB });
    await m.create(config("one", 512));
    const info = await m.nodeInfo();
    expect(info.total_memory).toBe(TOTAL_MIB);
    expect(info.free_memory).toBe(TOTAL_MIB - 1024 - 512 - 7);
  });

  it("refuses a guest whose memory fits but whose memory and overhead do not, and takes one that fits with it", async () => {
    m.setHostResources({ dom0MemoryKiB: 1024 * MIB });
    const room = TOTAL_MIB - 1024;
    await expect(m.create(config("big", room - 6))).rejects.toThrow(
      `Not enough memory for domain 'big': it needs ${(room + 1) * MIB} KiB (${(room - 6) * MIB} KiB of memory and ${7 * MIB} KiB for the process that runs it), but only ${room * MIB} KiB are available`,
    );
    expect((await m.list()).map((d) => d.name)).toEqual(["Domain-0"]);
    await m.create(config("fits", room - 7));
    expect((await m.nodeInfo()).free_memory).toBe(0);
  });

  it("frees the overhead with the guest", async () => {
    m.setHostResources({ dom0MemoryKiB: 1024 * MIB });
    await m.create(config("one", 100));
    await m.destroy("one");
    expect((await m.nodeInfo()).free_memory).toBe(TOTAL_MIB - 1024);
  });
});

describe("the sim driver's estimate", () => {
  it("is 4 MiB per runner and 3 MiB per vCPU, the figure measured in overhead.ts", () => {
    const driver = createSimDriver({ paths: new Paths(join(tmpdir(), "xvm-overhead-none")) });
    expect(driver.guestOverheadKiB(1)).toBe(7 * MIB);
    expect(driver.guestOverheadKiB(4)).toBe(16 * MIB);
    expect(simRunnerOverheadKiB(0)).toBe(7 * MIB);
  });
});

describe("the qemu driver's estimate", () => {
  it("is 76 MiB per QEMU and 6 MiB per vCPU (measured under TCG, qemu/overhead.ts), in its physInfo too", () => {
    const driver = createQemuDriver({ paths: new Paths(join(tmpdir(), "xvm-overhead-none")) });
    expect(driver.guestOverheadKiB(1)).toBe(82 * MIB);
    expect(driver.guestOverheadKiB(2)).toBe(88 * MIB);
    expect(qemuOverheadKiB(0)).toBe(82 * MIB);
  });
});
