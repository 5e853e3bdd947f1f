import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  formatKernelCpuList,
  onlineCpus,
  parseKernelCpuList,
  planDom0Cpus,
  processAffinity,
  setProcessAffinity,
} from "../../src/host/cpus.ts";
import { hostMemoryKiB, parseMemTotalKiB } from "../../src/host/memory.ts";
import { killPids, waitFor } from "../helpers/cli.ts";

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  await killPids(children.splice(0).map((c) => c.pid!));
});

function fakeDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "xvm-cpus-"));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

describe("kernel CPU lists", () => {
  it("parses and formats the kernel's syntax", () => {
    expect(parseKernelCpuList("0-3,8,10-11\n")).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseKernelCpuList("")).toEqual([]);
    expect(formatKernelCpuList([5, 0, 1, 2, 3, 7, 8])).toBe("0-3,5,7-8");
    expect(formatKernelCpuList([4])).toBe("4");
    expect(() => parseKernelCpuList("0-x")).toThrow("'0-x' is not a CPU or CPU range");
    expect(() => parseKernelCpuList("3-1")).toThrow("CPU range '3-1' runs backwards");
  });

  it("reads online CPUs and a process's allowed CPUs from injectable roots", () => {
    const sys = fakeDir({ online: "0-2,4\n" });
    expect(onlineCpus(sys)).toEqual([0, 1, 2, 4]);
    const proc = fakeDir({ "42/status": "Name:\txend\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n" });
    expect(processAffinity(42, proc)).toEqual([0, 1]);
    expect(processAffinity(43, proc)).toBeUndefined();
  });
});

describe("Domain-0's CPUs (dom0-cpus)", () => {
  it("0 gives Domain-0 one vCPU per CPU, pinned one to one, and guests any CPU", () => {
    expect(planDom0Cpus(0, [0, 1, 2, 3])).toEqual({
      vcpus: [
        { cpu: 0, affinity: [0] },
        { cpu: 1, affinity: [1] },
        { cpu: 2, affinity: [2] },
        { cpu: 3, affinity: [3] },
      ],
      processCpus: [0, 1, 2, 3],
      guestCpus: [0, 1, 2, 3],
    });
  });

  it("N gives Domain-0 N vCPUs on the first N CPUs and keeps guests on the others", () => {
    expect(planDom0Cpus(2, [0, 1, 2, 3])).toEqual({
      vcpus: [
        { cpu: 0, affinity: [0] },
        { cpu: 1, affinity: [1] },
      ],
      processCpus: [0, 1],
      guestCpus: [2, 3],
    });
    // The CPUs xend was given need not start at 0 (a cpuset).
    expect(planDom0Cpus(1, [2, 3]).processCpus).toEqual([2]);
    // Domain-0 on every CPU: guests share them.
    expect(planDom0Cpus(2, [0, 1]).guestCpus).toEqual([0, 1]);
  });

  it("refuses more CPUs than the host has, and nonsense", () => {
    expect(() => planDom0Cpus(3, [0, 1])).toThrow("dom0-cpus is 3 but this host has only 2 CPUs (0-1)");
    expect(() => planDom0Cpus(2, [5])).toThrow("dom0-cpus is 2 but this host has only 1 CPU (5)");
    expect(() => planDom0Cpus(-1, [0])).toThrow("dom0-cpus must be a whole number of CPUs, not -1");
  });

  it("really restricts a process with taskset and verifies it through /proc", async () => {
    const child = spawn("sleep", ["60"], { stdio: "ignore" });
    children.push(child);
    await waitFor(() => processAffinity(child.pid!) !== undefined, "the child to appear in /proc");
    const cpus = onlineCpus();
    setProcessAffinity(child.pid!, [cpus[0]!]);
    expect(processAffinity(child.pid!)).toEqual([cpus[0]]);
    setProcessAffinity(child.pid!, cpus);
    expect(processAffinity(child.pid!)).toEqual(cpus);
    // A CPU the host lacks: taskset's own words, and the process keeps its CPUs.
    expect(() => setProcessAffinity(child.pid!, [4000])).toThrow(new RegExp(`^taskset -a -p -c 4000 ${child.pid} failed: .*Invalid argument`));
    expect(processAffinity(child.pid!)).toEqual(cpus);
  });

  it("refuses a process that is not there and an empty CPU set", () => {
    expect(() => setProcessAffinity(2 ** 22 + 12345, [0])).toThrow("no process 4206649 (or no /proc/4206649/status to check it)");
    expect(() => setProcessAffinity(1, [])).toThrow("no CPUs given");
  });
});

describe("host memory", () => {
  it("reads MemTotal in KiB", () => {
    expect(parseMemTotalKiB("MemTotal:       24684084 kB\nMemFree:        23969288 kB\n")).toBe(24684084);
    expect(parseMemTotalKiB("nothing")).toBeUndefined();
    expect(hostMemoryKiB(fakeDir({ meminfo: "MemTotal:    2048 kB\n" }))).toBe(2048);
    expect(hostMemoryKiB("/nonexistent")).toBeGreaterThan(0);
  });
});
