/**
 * The simulated hypervisor through SimDriver, with runners started from the compiled binary
 * (`xvm __runner`): guests are real processes whose memory really changes.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GuestEvent, GuestSpec } from "../../src/hypervisor/driver.ts";
import { PAGE_SIZE } from "../../src/hypervisor/driver.ts";
import { createSimDriver, type SimDriver } from "../../src/hypervisor/sim/driver.ts";
import { OFF_WRITTEN, counterFromPage } from "../../src/hypervisor/sim/programs.ts";
import { bitmapToPfns } from "../../src/hypervisor/sim/memory.ts";
import { Paths } from "../../src/paths.ts";
import { cleanupRoot, killPids, pidAlive, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";

const MiB = 1024;

function spec(domid: number, over: Partial<GuestSpec> = {}): GuestSpec {
  return {
    domid,
    name: `guest${domid}`,
    uuid: `00000000-0000-4000-8000-${String(domid).padStart(12, "0")}`,
    memoryKiB: 64 * MiB,
    maxMemKiB: 64 * MiB,
    vcpus: 1,
    maxVcpus: 4,
    kernel: "sim:counter",
    extra: "",
    affinity: [],
    paused: false,
    meta: { config: { name: `guest${domid}` } },
    ...over,
  };
}

/** Polls `check` for `ms` and fails if it ever returns false (an observation window, the behaviour under test, not a wait). */
async function holdsFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await check())) throw new Error(`stopped holding: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  await expect(p).rejects.toMatchObject({ code });
}

function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]);
}

describe("sim driver (compiled runner)", () => {
  let root: string;
  let paths: Paths;
  let driver: SimDriver;
  const events: GuestEvent[] = [];
  const counter = async (d: SimDriver, domid: number) => counterFromPage(await d.readPages(domid, [0]));

  beforeAll(() => {
    root = tempRoot("xvm-sim-");
    paths = new Paths(root);
    driver = createSimDriver({ paths, command: [xvmBin()] });
    driver.subscribe((e) => events.push(e));
  });

  afterAll(async () => {
    await driver?.close();
    await cleanupRoot(root);
  });

  it("creates a counter guest as its own detached process and its counter advances", async () => {
    const info = await driver.create(spec(1, { vcpus: 2 }));
    expect(info).toMatchObject({ domid: 1, name: "guest1", uuid: spec(1).uuid, paused: false, crashed: false, shutdown: false, maxVcpus: 4 });
    expect(info.memoryKiB).toBe(64 * MiB);
    expect(info.vcpus.filter((v) => v.online).length).toBe(2);
    const pid = info.pid!;
    expect(pidAlive(pid)).toBe(true);
    expect(readFileSync(join(paths.runnersDir, "1", "pid"), "utf8").trim()).toBe(String(pid));
    expect(existsSync(join(paths.runnersDir, "1", "runner.sock"))).toBe(true);
    // its own session: a kill of xend's process group never reaches it
    expect(sessionOf(pid)).toBe(pid);
    expect(sessionOf(pid)).not.toBe(sessionOf(process.pid));

    const c0 = await counter(driver, 1);
    await waitFor(async () => (await counter(driver, 1)) > c0 + 5n, "the counter to advance");
    await waitFor(async () => (await driver.consoleRead(1)).includes("heartbeat 100\n"), "a heartbeat on the console");
    expect(await driver.consoleRead(1)).toContain("xvm-sim guest kernel (sim:counter) booting: 2 vCPU(s), 64 MiB");
    expect(events.some((e) => e.type === "console" && e.domid === 1 && e.data === "heartbeat 100\n")).toBe(true);
    await waitFor(async () => (await driver.info(1)).cpuTimeNs > 0, "vCPU CPU time");
  });

  it("pause stops the vCPUs; unpause continues from the same counter value", async () => {
    const stop = await driver.pauseTimed(1);
    expect(stop.stoppedMs).toBeGreaterThanOrEqual(0);
    const info = await driver.info(1);
    expect(info.paused).toBe(true);
    expect(info.running).toBe(false);
    expect(info.vcpus.some((v) => v.running || v.blocked)).toBe(false);
    const frozen = await counter(driver, 1);
    await holdsFor(async () => (await counter(driver, 1)) === frozen, 300, "counter frozen while paused");
    await expectCode(driver.pause(1), "DOMAIN_BAD_STATE");

    const t = Date.now();
    await driver.unpause(1);
    expect((await driver.info(1)).paused).toBe(false);
    await waitFor(async () => (await counter(driver, 1)) > frozen, "the counter to move again");
    const after = await counter(driver, 1);
    // continues from where it stopped: no jump for the time spent paused (>= 300 ms = 30 ticks)
    expect(after - frozen).toBeLessThanOrEqual(BigInt(Math.ceil((Date.now() - t) / 10) + 2));
    await expectCode(driver.unpause(1), "DOMAIN_BAD_STATE");
  });

  it("vcpu-set adds and removes vCPUs up to maxvcpus", async () => {
    await driver.setVcpus(1, 4);
    let info = await driver.info(1);
    expect(info.vcpus.map((v) => v.online)).toEqual([true, true, true, true]);
    await driver.setVcpus(1, 1);
    info = await driver.info(1);
    expect(info.vcpus.map((v) => v.online)).toEqual([true, false, false, false]);
    await expectCode(driver.setVcpus(1, 5), "NO_VCPUS");
    await expectCode(driver.setVcpus(1, 0), "NO_VCPUS");
    // the counter (on vCPU 0) never stopped
    const c = await counter(driver, 1);
    await waitFor(async () => (await counter(driver, 1)) > c, "the counter after vcpu-set");
  });

  it("pins a vCPU (affinity recorded) and rejects CPUs the host does not have", async () => {
    await driver.pinVcpu(1, 0, [0]);
    expect((await driver.info(1)).vcpus[0]!.affinity).toEqual([0]);
    await driver.pinVcpu(1, 0, []);
    expect((await driver.info(1)).vcpus[0]!.affinity).toEqual([]);
    await expectCode(driver.pinVcpu(1, 0, [4096]), "XVM_BAD_REQUEST");
    await expectCode(driver.pinVcpu(1, 9, [0]), "XVM_BAD_REQUEST");
  });

  it("keeps a new name and meta, and reads vCPU registers", async () => {
    await driver.setMeta(1, "renamed", { config: { name: "renamed" }, managed: true });
    const info = await driver.info(1);
    expect(info.name).toBe("renamed");
    expect(info.meta).toEqual({ config: { name: "renamed" }, managed: true });
    const state = await driver.vcpuState(1);
    expect(state.length).toBe(1);
    expect(state[0]!.number).toBe(0);
    // vCPU 0 of the counter guest keeps the counter in rax
    expect(BigInt(state[0]!.regs.rax!)).toBeGreaterThan(0n);
  });

  it("balloons a memory writer: pages above the target are zeroed, writing goes on below it", async () => {
    await driver.create(spec(2, { kernel: "sim:memwriter", extra: "rate=64M wss=64M", memoryKiB: 16 * MiB, maxMemKiB: 32 * MiB }));
    const top = (16 * MiB) / 4;
    const high = top - 10;
    await waitFor(async () => (await driver.readPages(2, [high])).some((b) => b !== 0), "the writer to reach the top pages");
    await driver.setMemoryTarget(2, 8 * MiB);
    const info = await driver.info(2);
    expect(info.targetKiB).toBe(8 * MiB);
    expect(info.memoryKiB).toBe(8 * MiB);
    const above = Array.from({ length: top - 2048 }, (_, i) => 2048 + i);
    expect((await driver.readPages(2, above)).every((b) => b === 0)).toBe(true);
    // it keeps writing, below the target only
    await driver.setLogDirty(2, true);
    await waitFor(async () => bitmapToPfns(await driver.takeDirtyLog(2)).length > 0, "new dirty pages");
    const dirty = bitmapToPfns(await driver.takeDirtyLog(2));
    expect(dirty.every((pfn) => pfn < 2048)).toBe(true);
    expect((await driver.readPages(2, above)).every((b) => b === 0)).toBe(true);
    await expectCode(driver.setMemoryTarget(2, 64 * MiB), "NO_MEMORY");
    // up again, to the maximum
    await driver.setMemoryTarget(2, 32 * MiB);
    expect((await driver.info(2)).targetKiB).toBe(32 * MiB);
    // The maximum may grow past the boot allocation (Xen's setmaxmem); the target may not.
    await driver.setMaxMemory(2, 128 * MiB);
    expect((await driver.info(2)).maxMemKiB).toBe(128 * MiB);
    await expectCode(driver.setMemoryTarget(2, 96 * MiB), "NO_MEMORY");
    await driver.setMaxMemory(2, 24 * MiB);
    expect((await driver.info(2)).targetKiB).toBe(24 * MiB);
    expect((await driver.info(2)).maxMemKiB).toBe(24 * MiB);
  });

  it("log-dirty: a paused guest dirties nothing; throttling slows the writer", async () => {
    await driver.pause(2);
    await driver.takeDirtyLog(2);
    expect(bitmapToPfns(await driver.takeDirtyLog(2))).toEqual([]);
    await driver.unpause(2);

    const written = async () => new DataView((await driver.readPages(2, [0])).buffer).getBigUint64(OFF_WRITTEN, true);
    // Pages written per ms over a fixed window: the window is the measurement, not a wait for a condition.
    const rate = async (ms: number) => {
      const a = await written();
      const t0 = performance.now();
      await waitFor(() => performance.now() - t0 >= ms, "the window");
      return Number((await written()) - a) / (performance.now() - t0);
    };
    const full = await rate(400);
    await driver.throttle(2, 90);
    expect((await driver.stats(2)).throttle).toBe(90);
    const slow = await rate(400);
    await driver.throttle(2, 0);
    expect(full).toBeGreaterThan(0);
    expect(slow).toBeLessThan(full * 0.5);
    await expectCode(driver.throttle(2, 100), "XVM_BAD_REQUEST");
  });

  it("moves megabytes of pages intact both ways", async () => {
    const pfns = Array.from({ length: 3000 }, (_, i) => 5000 - i);
    const data = new Uint8Array(pfns.length * PAGE_SIZE);
    for (let i = 0; i < data.length; i += 511) data[i] = (i * 7) & 0xff;
    await driver.pause(2);
    await driver.writePages(2, pfns, data);
    const back = await driver.readPages(2, pfns);
    await driver.unpause(2);
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
  });

  it("writes a core file from inside the runner", async () => {
    const path = join(root, "guest1.core");
    let progress = 0;
    await driver.dumpCore(1, path, { live: false, onProgress: (done) => (progress = done) });
    expect(readFileSync(path).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(statSync(path).size).toBeGreaterThan(64 * 1024 * 1024);
    expect(progress).toBe(64 * 1024 * 1024);
    // the guest was paused for the dump and runs again
    expect((await driver.info(1)).paused).toBe(false);
  });

  it("guest shutdown and reboot reach the driver as events", async () => {
    await driver.create(spec(3));
    await driver.requestShutdown(3, "poweroff");
    await waitFor(() => events.some((e) => e.type === "shutdown" && e.domid === 3 && e.reason === "poweroff"), "the shutdown event");
    const info = await driver.info(3);
    expect(info).toMatchObject({ shutdown: true, shutdownReason: "poweroff", running: false });
    expect(await driver.consoleRead(3)).toContain("The system is going down for poweroff NOW!");
    await driver.destroy(3);

    // guest-initiated: typed at its console
    await driver.create(spec(3));
    await driver.consoleWrite(3, "reboot\n");
    await waitFor(() => events.some((e) => e.type === "shutdown" && e.domid === 3 && e.reason === "reboot"), "the reboot event");
    await driver.destroy(3);
  });

  it("crash (sysrq c) gives a crashed event and keeps the guest for a dump", async () => {
    await driver.create(spec(4));
    await driver.crash(4);
    await waitFor(() => events.some((e) => e.type === "crashed" && e.domid === 4), "the crashed event");
    const info = await driver.info(4);
    expect(info).toMatchObject({ crashed: true, running: false, shutdownReason: "crash" });
    expect(await driver.consoleRead(4)).toContain("Kernel panic - not syncing: sysrq triggered crash");
    expect((await driver.readPages(4, [0])).byteLength).toBe(PAGE_SIZE);
    await expectCode(driver.pause(4), "DOMAIN_BAD_STATE");
    await driver.destroy(4);
  });

  it("destroy ends the runner and removes its folder", async () => {
    const info = await driver.create(spec(5));
    await driver.destroy(5);
    // (the test process is its parent: wait for it to be reaped)
    await waitFor(() => !pidAlive(info.pid!), "the runner to be gone");
    expect(existsSync(join(paths.runnersDir, "5"))).toBe(false);
    await expectCode(driver.info(5), "DOMAIN_NOT_FOUND");
    await expectCode(driver.destroy(5), "DOMAIN_NOT_FOUND");
    expect(events.some((e) => e.type === "lost" && e.domid === 5)).toBe(false);
  });

  it("kill -9 of a runner is a lost event; the other guests run on", async () => {
    const info = await driver.create(spec(6));
    await killPids([info.pid!]);
    await waitFor(() => events.find((e) => e.type === "lost" && e.domid === 6), "the lost event");
    expect(events.filter((e) => e.type === "lost" && e.domid === 6).length).toBe(1);
    expect(existsSync(join(paths.runnersDir, "6"))).toBe(false);
    await expectCode(driver.info(6), "DOMAIN_NOT_FOUND");
    const c = await counter(driver, 1);
    await waitFor(async () => (await counter(driver, 1)) > c, "guest 1's counter");
  });

  it("a new driver (daemon restart) re-attaches with the same domid, name, uuid, state and meta", async () => {
    const before = await driver.info(1);
    await driver.create(spec(7));
    await driver.close();

    // While no driver is attached: guest 7 crashes (kept by its runner), guest 2's runner dies.
    const loner = createSimDriver({ paths, command: [xvmBin()] });
    const noListener = await loner.list();
    expect(noListener.map((g) => g.domid)).toEqual([1, 2, 7]);
    await loner.crash(7);
    await loner.close();
    const pid2 = Number(readFileSync(join(paths.runnersDir, "2", "pid"), "utf8"));
    await killPids([pid2]);

    const again = createSimDriver({ paths, command: [xvmBin()] });
    const seen: GuestEvent[] = [];
    again.subscribe((e) => seen.push(e));
    try {
      const guests = await again.list();
      expect(guests.map((g) => g.domid)).toEqual([1, 2, 7]);
      const g1 = guests.find((g) => g.domid === 1)!;
      expect(g1).toMatchObject({ name: "renamed", uuid: before.uuid, pid: before.pid, paused: false, crashed: false, meta: before.meta, startTime: before.startTime });
      const g2 = guests.find((g) => g.domid === 2)!;
      expect(g2).toMatchObject({ lost: true, crashed: true, name: "guest2", uuid: spec(2).uuid });
      expect(guests.find((g) => g.domid === 7)).toMatchObject({ crashed: true });

      // what happened while detached arrives as events, once
      await waitFor(() => seen.some((e) => e.type === "lost" && e.domid === 2), "lost event for guest 2");
      await waitFor(() => seen.some((e) => e.type === "crashed" && e.domid === 7), "crashed event for guest 7");
      expect((await again.list()).map((g) => g.domid)).toEqual([1, 7]);

      const c = await counter(again, 1);
      await waitFor(async () => (await counter(again, 1)) > c, "the counter through the new driver");
      await again.pause(1);
      expect((await again.info(1)).paused).toBe(true);
      await again.unpause(1);
      await again.destroy(7);
    } finally {
      await again.close();
    }
    driver = createSimDriver({ paths, command: [xvmBin()] });
  });

  it("reports this host with hypervisor sim", async () => {
    const info = await driver.physInfo();
    expect(info.hypervisor.name).toBe("sim");
    expect(info.nrCpus).toBeGreaterThan(0);
    expect(info.totalMemoryKiB).toBeGreaterThan(0);
    expect(info.freeMemoryKiB).toBeLessThanOrEqual(info.totalMemoryKiB - 64 * MiB);
    expect(info.pageSize).toBe(4096);
  });

  it("refuses bad specs before starting anything", async () => {
    await expectCode(driver.create(spec(8, { kernel: "/boot/vmlinuz" })), "DOMAIN_CONFIG");
    await expectCode(driver.create(spec(8, { vcpus: 5 })), "DOMAIN_CONFIG");
    await expectCode(driver.create(spec(8, { kernel: "sim:memwriter", extra: "rate=fast" })), "DOMAIN_CONFIG");
    await expectCode(driver.create(spec(1)), "DOMAIN_EXISTS");
    expect(existsSync(join(paths.runnersDir, "8"))).toBe(false);
  });
});
