/**
 * default-nic, dom0-cpus and dom0-min-mem through svccfg, svcadm, svcs and xm with the compiled
 * binary: each property at its default and changed live, and the refusals (previous value kept,
 * service degraded with the reason, `svcs -x` explaining it).
 */
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { onlineCpus, processAffinity, formatKernelCpuList } from "../../src/host/cpus.ts";
import { hostMemoryKiB } from "../../src/host/memory.ts";
import { FakeSysfs } from "../helpers/host-sysfs-fixture.ts";
import {
  daemonPid,
  expectFail,
  guestConfig,
  info,
  list,
  ok,
  onRoot,
  setLive,
  svcState,
  vcpuList,
  waitState,
  explained,
  xendLog,
  type Xvm,
} from "../helpers/host.ts";

/** The CPUs the daemon will be given: those this test may use (restarter and xend inherit them). */
const allowed = processAffinity("self") ?? onlineCpus();
const CPUS = onlineCpus().filter((c) => allowed.includes(c));

function cpusOf(pid: number | string): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    return /^Cpus_allowed_list:\s*(.*)$/m.exec(status)![1]!;
  });
}

function runnerPid(root: string, domid: string): number {
  return Number.parseInt(readFileSync(join(root, "var/run/xend/domains", domid, "pid"), "utf8"), 10);
}

/** The default NIC as the documented rule picks it from `dladm show-link` (first eligible link up, else first eligible). */
function expectedNic(x: Xvm): string | undefined {
  const rows = ok(x("dladm", "show-link", "-p", "-o", "link,state,legacy"))
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split(":"));
  const eligible = rows.filter((r) => r[2] === "no");
  return (eligible.find((r) => r[1] === "up") ?? eligible[0])?.[0];
}

function start(x: Xvm): void {
  ok(x("svcadm", "enable", "-s", "xend"));
  expect(svcState(x)).toBe("online");
}

describe("host resources at their defaults", () => {
  let x: Xvm;
  beforeAll(() => {
    x = onRoot(prepareRoot(tempRoot("xvm-host-"), { relocation: false }));
    start(x);
  });
  afterAll(() => cleanupRoot(x.root));

  it("declares the properties with the manual's defaults", () => {
    const props = ok(x("svcprop", "-p", "config", "xend"));
    expect(props).toMatch(/^config\/default-nic astring ""$/m);
    expect(props).toMatch(/^config\/dom0-cpus integer 0$/m);
    expect(props).toMatch(/^config\/dom0-min-mem integer 196$/m);
    expect(props).toMatch(/^config\/host-memory integer 0$/m);
  });

  it("gives Domain-0 one vCPU per CPU pinned one to one, and leaves xend on every CPU", () => {
    expect(vcpuList(x, "Domain-0")).toEqual(CPUS.map((c, i) => ({ vcpu: i, cpu: String(c), affinity: String(c) })));
    expect(list(x).get("Domain-0")!.vcpus).toBe(CPUS.length);
    expect(new Set(cpusOf(daemonPid(x.root)))).toEqual(new Set([formatKernelCpuList(CPUS)]));
    expect(xendLog(x.root)).toContain(`dom0-cpus: 0 (one vCPU per physical CPU): Domain-0 has ${CPUS.length} vCPU`);
  });

  it("accounts the host's memory: Domain-0 holds all of it, nothing is free", () => {
    const total = Math.floor(hostMemoryKiB() / 1024);
    const node = info(x);
    expect(Number(node.total_memory)).toBe(total);
    expect(Number(node.free_memory)).toBe(0);
    expect(list(x).get("Domain-0")!.mem).toBe(total);
  });

  it("attaches a vif without bridge= to the first eligible link of dladm show-link, with a Xen MAC", () => {
    const nic = expectedNic(x);
    expect(xendLog(x.root)).toContain(nic ? `default-nic: guest vifs without bridge= attach to ${nic} (` : "default-nic: no eligible link for guest networking");
    ok(x("xm", "create", guestConfig(x.root, "web1", `memory = 64\nvif = [ '', 'bridge=lo' ]`)));
    const sxp = ok(x("xm", "list", "-l", "web1"));
    const macs = [...sxp.matchAll(/\(mac '?(00:16:3e:[0-7][0-9a-f]:[0-9a-f]{2}:[0-9a-f]{2})'?\)/g)].map((m) => m[1]);
    expect(macs).toHaveLength(2);
    expect(new Set(macs).size).toBe(2);
    const bridges = [...sxp.matchAll(/\(bridge '?([^)' ]+)'?\)/g)].map((m) => m[1]);
    expect(bridges).toEqual(nic ? [nic, "lo"] : ["lo"]);
    const rows = ok(x("xm", "network-list", "web1")).split("\n").slice(1).filter(Boolean);
    expect(rows.map((r) => r.split(/\s+/)[2])).toEqual(macs);
  });
});

describe("dom0-min-mem and host-memory changed live", () => {
  let x: Xvm;
  beforeAll(() => {
    x = onRoot(prepareRoot(tempRoot("xvm-host-"), { relocation: false }));
    start(x);
  });
  afterAll(() => cleanupRoot(x.root));

  const dom0 = () => list(x).get("Domain-0")!.mem;
  const free = () => Number(info(x).free_memory);

  it("takes config/host-memory as the host's total", async () => {
    await setLive(x, { "host-memory": "1024" });
    expect(info(x).total_memory).toBe("1024");
    expect(dom0()).toBe(1024);
    expect(free()).toBe(0);
  });

  // Each guest also costs the host its runner's own memory, 7 MiB for one vCPU
  // (src/hypervisor/sim/overhead.ts): Domain-0 is ballooned for it too (issue 13 §4).
  it("balloons Domain-0 down for a guest and its runner, and refuses one that would take it below dom0-min-mem", () => {
    ok(x("xm", "create", guestConfig(x.root, "g1", "memory = 512\nmaxmem = 1024")));
    expect(dom0()).toBe(1024 - 512 - 7);
    expect(free()).toBe(0);
    const r = x("xm", "create", guestConfig(x.root, "g2", "memory = 390"));
    expectFail(r, "I need 406528 KiB, but dom0_min_mem is 200704 and shrinking to 200704 KiB would leave only 316416 KiB free.");
    expect(list(x).has("g2")).toBe(false);
    expect(dom0()).toBe(505);
    expect(xendLog(x.root)).toContain("I need 406528 KiB, but dom0_min_mem is 200704");
  });

  it("uses a lower dom0-min-mem at once", async () => {
    await setLive(x, { "dom0-min-mem": "100" });
    ok(x("xm", "create", guestConfig(x.root, "g2", "memory = 390")));
    expect(dom0()).toBe(1024 - 512 - 7 - 390 - 7);
    expect(xendLog(x.root)).toContain("Balloon: setting dom0 target to 108 MiB.");
  });

  it("refuses to grow a guest past what Domain-0 can give, and xm mem-set 0 below the minimum", () => {
    expectFail(x("xm", "mem-set", "g1", "700"), "I need 192512 KiB, but dom0_min_mem is 102400 and shrinking to 102400 KiB would leave only 8192 KiB free.");
    expect(list(x).get("g1")!.mem).toBe(512);
    expectFail(x("xm", "mem-set", "0", "50"), "Cannot set Domain-0's memory to 50 MiB: dom0-min-mem is 100 MiB");
    expect(dom0()).toBe(108);
  });

  it("frees a destroyed guest's memory without growing Domain-0, which xm mem-set 0 grows back", () => {
    ok(x("xm", "destroy", "g2"));
    expect(dom0()).toBe(108);
    // The guest's 390 MiB and its runner's 7.
    expect(free()).toBe(397);
    ok(x("xm", "mem-set", "0", "505"));
    expect(dom0()).toBe(505);
    expect(free()).toBe(0);
  });

  it("refuses values it cannot honour, keeps the previous ones, and says why in svcs -x", async () => {
    await setLive(x, { "dom0-min-mem": "5000" });
    await waitState(x, "degraded");
    await explained(x, "config/dom0-min-mem: 5000 MiB is more than the host's 1024 MiB; keeping 100 MiB");
    expect(xendLog(x.root)).toContain("failed in refresh: config/dom0-min-mem: 5000 MiB is more than the host's 1024 MiB; keeping 100 MiB");
    expectFail(x("xm", "mem-set", "0", "90"), "dom0-min-mem is 100 MiB");

    await setLive(x, { "dom0-min-mem": "100", "host-memory": "600" });
    await explained(x, "config/host-memory: 600 MiB cannot hold the guests' 519 MiB and Domain-0's minimum of 100 MiB (config/dom0-min-mem); keeping 1024 MiB");
    expect(info(x).total_memory).toBe("1024");

    await setLive(x, { "host-memory": "1024" });
    await waitState(x, "online");
  });

  it("keeps Domain-0's allocation across a restart of xend", async () => {
    ok(x("xm", "mem-set", "0", "300"));
    const pid = daemonPid(x.root);
    ok(x("svcadm", "restart", "xend"));
    await waitFor(() => { try { return daemonPid(x.root) !== pid && svcState(x) === "online"; } catch { return false; } }, "xend to come back");
    expect(dom0()).toBe(300);
    expect(free()).toBe(1024 - 300 - 512 - 7);
    expect(list(x).get("g1")!.mem).toBe(512);
  });
});

describe("dom0-cpus changed live", () => {
  let x: Xvm;
  beforeAll(() => {
    x = onRoot(prepareRoot(tempRoot("xvm-host-"), { relocation: false }));
    start(x);
  });
  afterAll(() => cleanupRoot(x.root));

  it("restricts Domain-0 and xend's process to the first CPU, and places guests on the others", async () => {
    await setLive(x, { "dom0-cpus": "1" });
    const first = String(CPUS[0]);
    await waitFor(() => cpusOf(daemonPid(x.root)).every((c) => c === first), "xend's threads to be on the first CPU");
    expect(readFileSync(`/proc/${daemonPid(x.root)}/status`, "utf8")).toMatch(new RegExp(`^Cpus_allowed_list:\\s*${first}$`, "m"));
    expect(vcpuList(x, "Domain-0")).toEqual([{ vcpu: 0, cpu: first, affinity: first }]);
    expect(list(x).get("Domain-0")!.vcpus).toBe(1);
    // xm info -c (Xen 3.4's --config) shows the setting in force beside the host's CPU count.
    const info = ok(x("xm", "info", "-c"));
    expect(info).toMatch(new RegExp(`^nr_cpus {16}: ${CPUS.length}$`, "m"));
    expect(info).toMatch(/^dom0-cpus {14}: 1$/m);

    ok(x("xm", "create", guestConfig(x.root, "busy", "memory = 64\nvcpus = 2")));
    const rest = CPUS.length > 1 ? formatKernelCpuList(CPUS.slice(1)) : first;
    const shown = CPUS.length === 2 ? String(CPUS[1]) : rest;
    expect(vcpuList(x, "busy").map((v) => v.affinity)).toEqual(CPUS.length > 1 ? [shown, shown] : ["any cpu", "any cpu"]);
    if (CPUS.length > 1) {
      // The simulator binds each vCPU's thread: the guest really runs off Domain-0's CPU.
      const id = list(x).get("busy")!.id;
      await waitFor(() => cpusOf(runnerPid(x.root, id)).filter((c) => c === rest).length >= 2, "the guest's vCPU threads on the other CPUs");
    }
  });

  it("refuses more CPUs than the host has and keeps the previous value", async () => {
    const n = CPUS.length;
    await setLive(x, { "dom0-cpus": String(n + 1) });
    await waitState(x, "degraded");
    await explained(x, `config/dom0-cpus: dom0-cpus is ${n + 1} but this host has only ${n} CPU${n === 1 ? "" : "s"} (${formatKernelCpuList(CPUS)}); keeping 1`);
    expect(cpusOf(daemonPid(x.root)).every((c) => c === String(CPUS[0]))).toBe(true);
    expect(vcpuList(x, "Domain-0")).toHaveLength(1);
  });

  it("gives everything back with 0", async () => {
    await setLive(x, { "dom0-cpus": "0" });
    await waitState(x, "online");
    expect(new Set(cpusOf(daemonPid(x.root)))).toEqual(new Set([formatKernelCpuList(CPUS)]));
    expect(vcpuList(x, "Domain-0")).toHaveLength(CPUS.length);
  });
});

describe("default-nic changed live", () => {
  let x: Xvm;
  beforeAll(() => {
    x = onRoot(prepareRoot(tempRoot("xvm-host-"), { relocation: false }));
    start(x);
  });
  afterAll(() => cleanupRoot(x.root));

  const bridgeOf = (name: string) => /\(bridge '?([^)' ]+)'?\)/.exec(ok(x("xm", "list", "-l", name)))?.[1];

  it("attaches vifs to the configured link", async () => {
    await setLive(x, { "default-nic": "lo" });
    expect(xendLog(x.root)).toContain("default-nic: guest vifs without bridge= attach to lo (chosen by config/default-nic although loopback)");
    ok(x("xm", "create", guestConfig(x.root, "n1", "memory = 32\nvif = [ '' ]")));
    expect(bridgeOf("n1")).toBe("lo");
  });

  it("refuses a link that does not exist and keeps the previous one", async () => {
    await setLive(x, { "default-nic": "nosuch0" });
    await waitState(x, "degraded");
    const explain = await explained(x, "Reason: Degraded by the service: config/default-nic: no link named 'nosuch0' on this host");
    expect(explain).toContain("keeping 'lo'");
    expect(xendLog(x.root)).toMatch(/ERROR \([^)]+\) config\/default-nic: no link named 'nosuch0'/);
    ok(x("xm", "create", guestConfig(x.root, "n2", "memory = 32\nvif = [ '' ]")));
    expect(bridgeOf("n2")).toBe("lo");

    await setLive(x, { "default-nic": '""' });
    await waitState(x, "online");
  });
});

describe("default-nic's automatic choice on a host with NICs, bridges and virtual links", () => {
  // A fake /sys/class/net (XVM_SYSFS_NET, honoured by dladm and xend alike): the choice is
  // checked where the test decides which links exist and which are up.
  let x: Xvm;
  let sysfs: FakeSysfs;
  beforeAll(() => {
    sysfs = new FakeSysfs()
      .add({ name: "lo", ifindex: 1, type: 772, mtu: 65536, operstate: "unknown", carrier: 1 })
      .add({ name: "eth0", ifindex: 2, device: true, operstate: "down" })
      .add({ name: "eth1", ifindex: 3, device: true, master: "xenbr0" })
      .add({ name: "xenbr0", ifindex: 4, devtype: "bridge", bridgePorts: ["eth1"], lowers: ["eth1"] })
      .add({ name: "veth0", ifindex: 5, iflink: 9 });
    x = onRoot(prepareRoot(tempRoot("xvm-host-"), { relocation: false }), { XVM_SYSFS_NET: sysfs.net });
    start(x);
  });
  afterAll(async () => {
    await cleanupRoot(x.root);
    sysfs.remove();
  });

  const bridgeOf = (name: string) => /\(bridge '?([^)' ]+)'?\)/.exec(ok(x("xm", "list", "-l", name)))?.[1];

  it("shows the links and why each is or is not a candidate", () => {
    expect(ok(x("dladm", "show-link", "-o", "link,class,state,over,legacy"))).toBe(
      [
        "LINK        CLASS     STATE    OVER            LEGACY",
        "lo          loopback  up       --              loopback",
        "eth0        phys      down     --              no",
        "eth1        phys      up       --              port of xenbr0",
        "xenbr0      bridge    up       eth1            no",
        "veth0       veth      up       --              virtual",
        "",
      ].join("\n"),
    );
  });

  it("takes the first eligible link that is up: the bridge over the NIC that carries traffic", () => {
    expect(xendLog(x.root)).toContain("default-nic: guest vifs without bridge= attach to xenbr0 (bridge, up): first eligible link that is up in dladm show-link order");
    ok(x("xm", "create", guestConfig(x.root, "a1", "memory = 32\nvif = [ '' ]")));
    expect(bridgeOf("a1")).toBe("xenbr0");
  });

  it("chooses again at each creation, so a NIC that comes up is used from then on", () => {
    writeFileSync(join(sysfs.root, "devices/pci0000:00/0000:00:03.0/net/eth0/operstate"), "up\n");
    ok(x("xm", "create", guestConfig(x.root, "a2", "memory = 32\nvif = [ '' ]")));
    expect(bridgeOf("a2")).toBe("eth0");
    expect(bridgeOf("a1")).toBe("xenbr0");
  });
});
