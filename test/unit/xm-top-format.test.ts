/** `xm top`'s xentop layout (src/cli/xm/top-format.ts), field by field. */
import { describe, expect, it } from "vitest";
import { cpuPercent, headerLine, sorted, stateLetters, summaryLines, table, vbdDevice, type TopDomain, type TopSample } from "../../src/cli/xm/top-format.ts";

const flags = (over: Partial<TopDomain["flags"]> = {}): TopDomain["flags"] => ({
  running: false, blocked: false, paused: false, shutdown: false, crashed: false, dying: false, ...over,
});

function dom(domid: number, name: string, cpuNs: number, over: Partial<TopDomain> = {}): TopDomain {
  return {
    domid, name, flags: flags({ blocked: true }), cpuNs, memKiB: 131072, maxMemKiB: 262144, vcpus: 1,
    vcpuNs: [{ number: 0, online: true, cpuTimeNs: cpuNs }], nets: [], vbds: [], ...over,
  };
}

function sample(at: number, domains: TopDomain[]): TopSample {
  return { at, node: { totalKiB: 1048576, freeKiB: 524288, nrCpus: 2, cpuMhz: 2400, version: "3.4.0" }, domains };
}

describe("xm top layout", () => {
  it("prints xentop's header with its widths", () => {
    expect(headerLine()).toBe(
      "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR SSID",
    );
  });

  it("prints a domain line: name right-aligned in 10 (cut), states d s b c p r, CPU % against the previous sample", () => {
    const net = { rxBytes: 4096, txBytes: 10240, rxPackets: 1, txPackets: 2, rxErrs: 0, txErrs: 0, rxDrop: 0, txDrop: 0 };
    const prev = sample(1000, [dom(1, "a-very-long-name", 2e9)]);
    const cur = sample(2000, [dom(1, "a-very-long-name", 2.5e9, { nets: [net], vbds: [{ dev: 51712, oo: 1, rd: 20, wr: 30 }] })]);
    expect(table(cur, prev, { networks: false, vbds: false, vcpus: false, repeatHeader: false, sortField: 0 }).split("\n")[1]).toBe(
      "a-very-lon --b---          2   50.0     131072   12.5     262144      25.0     1    1       10        4    1        1       20       30    0",
    );
    expect(cpuPercent(cur.domains[0]!, cur, prev)).toBe(50);
    expect(cpuPercent(cur.domains[0]!, cur, undefined)).toBe(0);
    expect(cpuPercent(cur.domains[0]!, cur, sample(1000, [dom(2, "other", 0)]))).toBe(0);
  });

  it("adds vCPU, network and block lines on request", () => {
    const net = { rxBytes: 1, txBytes: 2, rxPackets: 3, txPackets: 4, rxErrs: 5, txErrs: 6, rxDrop: 7, txDrop: 8 };
    const d = dom(3, "web1", 7e9, {
      vcpuNs: [0, 1, 2, 3, 4, 5].map((n) => ({ number: n, online: n !== 2, cpuTimeNs: n * 1e9 })),
      nets: [net], vbds: [{ dev: vbdDevice("xvda"), oo: 0, rd: 9, wr: 10 }],
    });
    const text = table(sample(0, [d]), undefined, { networks: true, vbds: true, vcpus: true, repeatHeader: false, sortField: 0 });
    expect(text.split("\n").slice(2).join("\n")).toBe(
      // xentop's " %2u: %10llus" per online vCPU, a new line (indented 8) before every fifth.
      "VCPUs(sec):   0:          0s  1:          1s  3:          3s  4:          4s\n" +
      "          5:          5s\n" +
      "Net0 RX:        1bytes        3pkts        5err        7drop  TX:        2bytes        4pkts        6err        8drop\n" +
      "VBD BlkBack 51712  OO:        0   RD:        9   WR:       10\n",
    );
  });

  it("sorts by name without regard to case, and repeats the header on request", () => {
    const cur = sample(0, [dom(0, "Domain-0", 0), dom(2, "beta", 0), dom(1, "Alpha", 0)]);
    expect(sorted(cur, undefined, 0).map((d) => d.name)).toEqual(["Alpha", "beta", "Domain-0"]);
    const text = table(cur, undefined, { networks: false, vbds: false, vcpus: false, repeatHeader: true, sortField: 0 });
    expect(text.split("\n").filter((l) => l === headerLine())).toHaveLength(3);
  });

  it("prints the terminal summary", () => {
    const cur = sample(new Date(2026, 0, 2, 3, 4, 5).getTime(), [dom(0, "Domain-0", 0, { flags: flags({ running: true }) }), dom(1, "p", 0, { flags: flags({ paused: true }) })]);
    expect(summaryLines(cur)).toBe(
      "xentop - 03:04:05   Xen 3.4.0\n" +
      "2 domains: 1 running, 0 blocked, 1 paused, 0 crashed, 0 dying, 0 shutdown \n" +
      "Mem: 1048576k total, 524288k used, 524288k free    CPUs: 2 @ 2400MHz\n",
    );
    expect(stateLetters(flags({ dying: true, running: true }))).toBe("d----r");
  });

  it("numbers virtual disks as Xen did", () => {
    expect(vbdDevice("xvda")).toBe(202 * 256);
    expect(vbdDevice("xvdb1")).toBe(202 * 256 + 17);
    expect(vbdDevice("hda")).toBe(3 * 256);
    expect(vbdDevice("sdb")).toBe(8 * 256 + 16);
    expect(vbdDevice("2049")).toBe(2049);
  });
});
