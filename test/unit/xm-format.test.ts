import { describe, expect, it } from "vitest";
import type { DomainSummary } from "../../src/domain/types.ts";
import {
  LIST_HEADER, formatInfo, formatList, networkRows, pyFixed, uptimeRow, uptimeShort, uptimeText, vcpuRows,
} from "../../src/cli/xm/format.ts";
import { mebibytes } from "../../src/cli/xm/args.ts";
import { prettySxp } from "../../src/cli/xm/long.ts";

const none = { running: false, blocked: false, paused: false, shutdown: false, crashed: false, dying: false };

function dom(over: Partial<DomainSummary>): DomainSummary {
  return {
    domid: 1, name: "web1", uuid: "u", memory: 512, maxmem: 512, vcpus: 1, maxvcpus: 1, state: "-b----", flags: { ...none, blocked: true },
    cpuTime: 0, startTime: 0, managed: false, vcpuInfo: [],
    config: { name: "web1", memory: 512, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [] },
    ...over,
  };
}

describe("xm list", () => {
  it("prints xm 3.4's header and rows byte for byte", () => {
    const text = formatList([
      dom({ domid: 0, name: "Domain-0", memory: 1024, vcpus: 2, state: "r-----", cpuTime: 123.45 }),
      dom({ domid: 12, name: "web1", memory: 512, vcpus: 1, state: "-b----", cpuTime: 0.25 }),
      dom({ domid: null, name: "db", memory: 2048, vcpus: 4, state: "------", cpuTime: 0 }),
      dom({ domid: 7, name: "a-name-that-is-longer-than-forty-characters-wide", memory: 64, vcpus: 1, state: "----c-", cpuTime: 12345.67 }),
    ]);
    expect(text).toBe(
      "Name                                        ID   Mem VCPUs      State   Time(s)\n" +
      "Domain-0                                     0  1024     2     r-----    123.5\n" +
      "web1                                        12   512     1     -b----      0.2\n" +
      "db                                              2048     4                 0.0\n" +
      "a-name-that-is-longer-than-forty-characters-wide     7    64     1     ----c-  12345.7\n",
    );
    expect(LIST_HEADER.length).toBe(79);
  });

  it("rounds as Python's %.1f: correctly, exact halves to even", () => {
    expect(pyFixed(0.25, 1)).toBe("0.2");
    expect(pyFixed(0.75, 1)).toBe("0.8");
    expect(pyFixed(1.25, 1)).toBe("1.2");
    expect(pyFixed(0.35, 1)).toBe("0.3"); // 0.35 is 0.34999… in binary
    expect(pyFixed(2.05, 1)).toBe("2.0"); // 2.04999…
    expect(pyFixed(123.45, 1)).toBe("123.5"); // 123.4500000000000028…
    expect(pyFixed(0, 1)).toBe("0.0");
    expect(pyFixed(2.5, 0)).toBe("2");
    expect(pyFixed(3.5, 0)).toBe("4");
  });
});

describe("xm vcpu-list, uptime, info, network-list", () => {
  it("prints vCPUs with their state and affinity", () => {
    const d = dom({
      domid: 3, name: "web1",
      vcpuInfo: [
        { number: 0, online: true, running: true, blocked: false, cpuTimeNs: 1.5e9, cpu: 1, affinity: [] },
        { number: 1, online: true, running: false, blocked: true, cpuTimeNs: 0.04e9, cpu: 0, affinity: [0, 2, 3] },
        { number: 2, online: false, running: false, blocked: false, cpuTimeNs: 0, cpu: -1, affinity: [] },
      ],
    });
    expect(vcpuRows(d, 4)).toEqual([
      "web1                                 3     0     1   r--       1.5 any cpu",
      "web1                                 3     1     0   -b-       0.0 0,2-3",
      "web1                                 3     2     -   --p       0.0 any cpu",
    ]);
    expect(vcpuRows(dom({ domid: null, name: "db", vcpus: 2 }), 4)).toEqual([
      "db                                         0                   0.0 any cpu",
      "db                                         1                   0.0 any cpu",
    ]);
  });

  it("prints uptimes as xm did", () => {
    expect(uptimeText(59, true)).toBe(" 0:00:59");
    expect(uptimeText(3 * 3600 + 4 * 60 + 5, true)).toBe(" 3:04:05");
    expect(uptimeText(86400 + 3600, true)).toBe("1 day,  1:00:00");
    expect(uptimeText(3 * 86400 + 12 * 3600 + 60, false)).toBe("3 days, 12:01");
    expect(uptimeRow(dom({ domid: 4, name: "web1", startTime: 1000 }), 1000 + 65)).toBe("web1                                 4  0:01:05");
    expect(uptimeRow(dom({ domid: null, name: "db", startTime: 0 }), 5000)).toBe("db                                      0:00:00");
    const now = new Date(2026, 0, 2, 3, 4, 5);
    expect(uptimeShort(dom({ domid: 4, name: "web1", startTime: 0 }), now, 7200)).toBe(" 03:04:05 up  2:00, web1 (4)");
  });

  it("prints node fields as key : value lines", () => {
    expect(formatInfo({ host: "h1", nr_cpus: 4, hw_caps: "", xend_config_format: 4 })).toBe(
      "host                   : h1\nnr_cpus                : 4\nhw_caps                : \nxend_config_format     : 4\n",
    );
  });

  it("prints vifs in xm network-list's columns", () => {
    expect(networkRows(5, [{ mac: "00:16:3e:00:00:01", bridge: "br0" }])).toEqual([
      "0   0  00:16:3e:00:00:01    0     4      -1    -1   /-1      /local/domain/0/backend/vif/5/0  ",
    ]);
  });
});

describe("xm list -l and arguments", () => {
  it("pretty-prints SXP as xend's PrettyPrint did", () => {
    // Outputs checked against xend's PrettyPrint.py (ported to Python 3 unchanged in logic).
    expect(prettySxp(["domain", ["domid", 1], ["name", "web1"], ["image", ["linux", ["kernel", "sim:idle"]]], ["cpu_time", 1.5]])).toBe(
      "(domain (domid 1) (name web1) (image (linux (kernel sim:idle))) (cpu_time 1.5))",
    );
    expect(prettySxp(["domain", ["domid", 1], ["uuid", "3eaafdcf-4b17-4d39-9a0f-ce0ac04ed319"], ["name", "web1"], ["image", ["linux", ["kernel", "sim:idle"]]], ["cpu_time", 1.5]])).toBe(
      "(domain\n    (domid 1)\n    (uuid 3eaafdcf-4b17-4d39-9a0f-ce0ac04ed319)\n    (name web1)\n    (image (linux (kernel sim:idle)))\n    (cpu_time 1.5)\n)",
    );
    expect(prettySxp(["vcpu", "0"])).toBe("(vcpu 0)");
    expect(prettySxp(["a", "b c"])).toBe("(a 'b c')");
    // A nested list too wide for the line breaks too, one level deeper.
    const wide = ["domain", ["device", ["vif", ["mac", "00:16:3e:00:00:01"], ["bridge", "a-very-long-bridge-name-that-goes-on-and-on-and-on"]]]];
    expect(prettySxp(wide)).toBe(
      "(domain\n    (device\n        (vif\n            (mac 00:16:3e:00:00:01)\n            (bridge a-very-long-bridge-name-that-goes-on-and-on-and-on)\n        )\n    )\n)",
    );
  });

  it("reads memory sizes as xm's int_unit did", () => {
    expect(mebibytes("512")).toBe(512);
    expect(mebibytes("512m")).toBe(512);
    expect(mebibytes("1g")).toBe(1024);
    expect(mebibytes("262144k")).toBe(256);
    expect(mebibytes("1000k")).toBe(0);
    expect(() => mebibytes("lots")).toThrow("Invalid memory size 'lots': use a number of MiB, optionally with a unit k, m, g or t (e.g. 512, 512m, 1g)");
  });
});
