/**
 * Every xm command and its faults, through the compiled binary against one `xvm xend` on a
 * temporary root.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { consoleText, heartbeats, listMap, listRows, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const example = (name: string) => join(repo, "examples", name);

let root: string;
let xend: Xend | undefined;

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-xm-e2e-"), { relocation: false });
  mkdirSync(join(root, "etc/xen"), { recursive: true });
  copyFileSync(example("counter.cfg"), join(root, "etc/xen/counter.cfg"));
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

/** Domains with their ids and the flags a command could change (running/blocked come and go). */
function snapshot(): Record<string, string> {
  return Object.fromEntries(Object.entries(listMap(root)).map(([name, v]) => [name, v.replace(/ [r-][b-]/, " ..")]));
}

/** Refused with exactly this message, and nothing changed. */
function refused(args: string[], message: string, exit = 1): void {
  const before = snapshot();
  const r = xm(root, ...args);
  expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: exit, stderr: `Error: ${message}\n`, stdout: expect.any(String) });
  expect(snapshot()).toEqual(before);
}

describe("xm without a daemon", () => {
  it("says xend is not running and how to start it", () => {
    const r = xm(root, "list");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: xend is not running for root ${root} (no control socket at ${root}/var/run/xend/control.sock); try: svcadm enable xend\n`);
    expect(r.stdout).toBe("");
  });
});

describe("xm against xend", () => {
  beforeAll(async () => {
    xend = await startXend(root);
  });

  it("prints help: the subcommand list, each subcommand's usage, and unknown subcommands", () => {
    const help = xmOk(root, "help");
    expect(help.startsWith("Usage: xm <subcommand> [args]\n\nControl, list, and manipulate Xen guest instances.\n\nxm full list of subcommands:\n\n console              Attach to <Domain>'s console.\n create               Create a domain based on <ConfigFile>.\n")).toBe(true);
    for (const c of ["list", "info", "create", "new", "start", "delete", "destroy", "shutdown", "reboot", "pause", "unpause", "rename", "mem-set", "mem-max", "vcpu-set", "vcpu-pin", "vcpu-list", "domid", "domname", "uptime", "console", "dmesg", "log", "sysrq", "trigger", "network-list", "dump-core"]) {
      expect(help).toMatch(new RegExp(`^ ${c.padEnd(20)} \\S`, "m"));
    }
    expect(xmOk(root, "--help")).toBe(help);
    const pause = xm(root, "pause", "--help");
    expect(pause.code).toBe(0);
    expect(pause.stdout).toContain("Pause execution of a domain");
    expect(pause.stdout).toContain("$ xvm xm pause web1");
    const bogus = xm(root, "bogus");
    expect(bogus.code).toBe(1);
    expect(bogus.stderr.startsWith("Error: Subcommand bogus not found!\nUsage: xm <subcommand> [args]\n")).toBe(true);
    expect(xm(root, "pause").code).toBe(1);
  });

  it("creates from /etc/xen under the root and from a path, and lists in xm's format", () => {
    expect(xmOk(root, "create", "counter.cfg")).toBe(`Using config file "${root}/etc/xen/counter.cfg".\nStarted domain counter1 (id=1)\n`);
    expect(xmOk(root, "create", "examples/idle.cfg", "name=idle1")).toBe('Using config file "./examples/idle.cfg".\nStarted domain idle1 (id=2)\n');
    const rows = listRows(root);
    expect(rows.map((r) => [r.name, r.id, r.mem, r.vcpus])).toEqual([["Domain-0", "0", rows[0]!.mem, rows[0]!.vcpus], ["counter1", "1", 128, 1], ["idle1", "2", 64, 1]]);
    expect(rows[0]!.state).toBe("r-----");
    for (const r of rows.slice(1)) expect(r.state).toMatch(/^[r-][b-]----$/);
    const info = xmOk(root, "info");
    const total = Number(/^total_memory\s+: (\d+)$/m.exec(info)![1]);
    // Domain-0 holds what the guests and their runners leave: 4 MiB + 3 MiB per possible vCPU
    // each (src/hypervisor/sim/overhead.ts; counter1 has maxvcpus 2).
    expect(rows[0]!.mem).toBe(total - 128 - 64 - (4 + 3 * 2) - (4 + 3));
  });

  it("refuses bad configs, with file:line:column, and creates nothing", () => {
    const bad = join(root, "bad.cfg");
    writeFileSync(bad, 'name = "bad1"\nkernel = "sim:idle"\nmemory = "lots"\non_crash = "explode"\n');
    refused(["create", bad], `${bad}:3:10: memory must be a whole number of MiB, not the string 'lots'\n${bad}:4:12: on_crash = 'explode' is not an action; use one of destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart`);
    writeFileSync(bad, 'name = "bad1"\nkernel = "sim:idle"\nvif = [ \'mac=00:16:3e:00:00\' ]\n');
    refused(["create", bad], `${bad}:3:9: vif[0].mac '00:16:3e:00:00' is not a MAC address (six hex pairs like 00:16:3e:01:02:03)`);
    writeFileSync(bad, 'name = "bad1"\nkernel = "sim:idle\n');
    refused(["create", bad], `${bad}:2:19: unterminated string (opened at 2:10; use ''' … ''' for text over several lines)`);
    refused(["create", "examples/idle.cfg", "name=v1", "vcpus=4", "maxvcpus=2"], "command line 'vcpus=4':1:7: vcpus (4) must not exceed maxvcpus (2)");
    refused(["create", "examples/idle.cfg", "name=v1", "vcpus=64"], "command line 'vcpus=64':1:7: vcpus must be between 1 and 32, not 64");
    refused(["create", "nothere.cfg"], `Unable to open config file: nothere.cfg (looked in ${repo}, ${root}/etc/xen)`);
    const total = Number(/^total_memory\s+: (\d+)$/m.exec(xmOk(root, "info"))![1]);
    refused(["create", "examples/idle.cfg", "name=huge", `memory=${total * 2}`], `Domain 'huge' needs ${total * 2} MiB, more than this host's ${total} MiB of memory.`);
    refused(["create", "counter.cfg"], "Domain 'counter1' already exists with ID '1'");
    refused(["create", "examples/idle.cfg", "name=Domain-0"], "command line 'name=Domain-0':1:6: name 'Domain-0' is reserved for the control domain");
  });

  it("warns about unknown settings and still creates", () => {
    const cfg = join(root, "warn.cfg");
    writeFileSync(cfg, 'name = "warn1"\nkernel = "sim:idle"\nmemory = 32\nmemroy = 64\n');
    const r = xm(root, "create", cfg);
    expect([r.code, r.stderr]).toEqual([0, `Warning: ${cfg}:4:1: unknown setting 'memroy' (ignored)\n`]);
    // The refused creations above used no domain id.
    expect(listMap(root).warn1).toMatch(/^3 /);
    xmOk(root, "destroy", "warn1");
    expect(listMap(root).warn1).toBeUndefined();
  });

  it("pauses, pauses a paused domain again as 3.4 did (no error, no change), unpauses; unknown domains are errors", () => {
    xmOk(root, "pause", "counter1");
    expect(listMap(root).counter1).toBe("1 --p---");
    expect(xm(root, "pause", "counter1")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(listMap(root).counter1).toBe("1 --p---");
    refused(["shutdown", "counter1"], "Domain 'counter1' is paused; cannot shut down.");
    xmOk(root, "unpause", "1");
    expect(listMap(root).counter1).toMatch(/^1 [r-][b-]----$/);
    expect(xm(root, "unpause", "counter1")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(listMap(root).counter1).toMatch(/^1 [r-][b-]----$/);
    refused(["pause", "nope"], "Domain 'nope' does not exist.");
    refused(["destroy", "0"], "Cannot destroy privileged domain 0");
  });

  it("lists chosen domains, by name, id or uuid, and -l prints the domain SXP", () => {
    const uuid = /^\s+\(uuid ([0-9a-f-]{36})\)$/m.exec(xmOk(root, "list", "-l", "counter1"))![1]!;
    expect(listRows(root).length).toBe(3);
    const chosen = xmOk(root, "list", "idle1", "1", uuid);
    expect(chosen.split("\n").filter(Boolean).map((l) => l.slice(0, 46).trimEnd())).toEqual([
      "Name                                        ID", "idle1                                        2", "counter1                                     1", "counter1                                     1",
    ]);
    const long = xmOk(root, "list", "-l", "idle1");
    expect(long.startsWith("(domain\n    (domid 2)\n")).toBe(true);
    expect(long).toContain("\n    (name idle1)\n");
    expect(long).toContain("\n    (image (linux (kernel sim:idle)))\n");
    expect(long.endsWith("\n)\n")).toBe(true);
    refused(["list", "idle1", "nope"], "Domain 'nope' does not exist.");
    expect(listRows(root).length).toBe(3);
    expect(xmOk(root, "domid", "counter1")).toBe("1\n");
    expect(xmOk(root, "domname", "2")).toBe("idle1\n");
    expect(xmOk(root, "domname", uuid)).toBe("counter1\n");
  });

  it("prints xm info, uptime, vcpu-list and network-list", () => {
    const info = xmOk(root, "info").split("\n").filter(Boolean);
    expect(info.map((l) => l.slice(0, 25).trimEnd().replace(/ +:$/, ""))).toEqual([
      "host", "release", "version", "machine", "nr_cpus", "nr_nodes", "cores_per_socket", "threads_per_core", "cpu_mhz", "hw_caps",
      "virt_caps", "total_memory", "free_memory", "node_to_cpu", "node_to_memory", "xen_major", "xen_minor", "xen_extra", "xen_caps",
      "xen_scheduler", "xen_pagesize", "platform_params", "xen_changeset", "cc_compiler", "cc_compile_by", "cc_compile_domain",
      "cc_compile_date", "xend_config_format",
    ]);
    for (const l of info) expect(l).toMatch(/^[a-z_]{1,23} *: /);
    expect(info).toContain("xend_config_format     : 4");
    const up = xmOk(root, "uptime").split("\n");
    expect(up[0]).toBe("Name                                ID Uptime ");
    expect(up[2]).toMatch(/^counter1 {29}1  0:00:\d\d$/);
    expect(xmOk(root, "uptime", "-s", "idle1")).toMatch(/^ \d\d:\d\d:\d\d up  0:00, idle1 \(2\)\n$/);
    const vcpus = xmOk(root, "vcpu-list", "counter1").split("\n").filter(Boolean);
    expect(vcpus[0]).toBe("Name                                ID  VCPU   CPU State   Time(s) CPU Affinity");
    expect(vcpus[1]).toMatch(/^counter1 {29}1 {5}0 {5}\d {3}[r-][b-]- +\d+\.\d any cpu$/);
    expect(vcpus[2]).toMatch(/^counter1 {29}1 {5}1 {5}- {3}--p +0\.0 any cpu$/);
    expect(xmOk(root, "network-list", "counter1")).toBe(
      "Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n" +
      "0   0  00:16:3e:00:00:01    0     4      -1    -1   /-1      /local/domain/0/backend/vif/1/0  \n",
    );
    // examples/counter.cfg names no bridge: the vif is on config/default-nic's link, whichever it is here (none on a host whose links are all virtual).
    expect(xmOk(root, "network-list", "-l", "counter1")).toMatch(/^\(0 \(vif \(mac 00:16:3e:00:00:01\)( \(bridge [\w.@-]+\))?\)\)\n$/);
  });

  it("balloons, sets maximum memory and vCPUs, pins vCPUs, within the domain's limits", () => {
    xmOk(root, "mem-set", "counter1", "64");
    expect(listRows(root).find((r) => r.name === "counter1")!.mem).toBe(64);
    refused(["mem-set", "counter1", "512"], "memory target 512 MiB is above the maximum 256 MiB of domain 'counter1' (raise it with xm mem-max)");
    refused(["mem-set", "counter1", "lots"], "Invalid memory size 'lots': use a number of MiB, optionally with a unit k, m, g or t (e.g. 512, 512m, 1g)");
    xmOk(root, "mem-max", "counter1", "192m");
    refused(["mem-set", "counter1", "262144k"], "memory target 256 MiB is above the maximum 192 MiB of domain 'counter1' (raise it with xm mem-max)");
    refused(["mem-max", "counter1", "32"], "maximum 32 MiB is below the current memory of domain 'counter1' (64 MiB); lower it first with xm mem-set");
    xmOk(root, "mem-set", "counter1", "131072k");
    expect(listRows(root).find((r) => r.name === "counter1")!.mem).toBe(128);
    // mem-max grows the maximum past what the guest booted with (as Xen's setmaxmem); the guest
    // balloons up to its boot allocation until it restarts with the new maximum.
    xmOk(root, "mem-max", "counter1", "1g");
    expect(xmOk(root, "list", "-l", "counter1")).toContain("(maxmem 1024)");
    const above = xm(root, "mem-set", "counter1", "512");
    expect([above.code, above.stderr]).toEqual([1, "Error: memory target 524288 KiB is above what domain counter1 booted with (262144 KiB); a higher maximum takes effect when it restarts\n"]);
    xmOk(root, "mem-set", "counter1", "256");
    xmOk(root, "mem-set", "counter1", "128");
    xmOk(root, "vcpu-set", "counter1", "2");
    expect(listRows(root).find((r) => r.name === "counter1")!.vcpus).toBe(2);
    refused(["vcpu-set", "counter1", "3"], "Domain 'counter1' can have 1 to 2 vCPUs (maxvcpus), not 3.");
    xmOk(root, "vcpu-pin", "counter1", "0", "0");
    expect(xmOk(root, "vcpu-list", "counter1").split("\n")[1]).toMatch(/ 0$/);
    xmOk(root, "vcpu-pin", "counter1", "all", "all");
    expect(xmOk(root, "vcpu-list", "counter1").split("\n")[1]).toMatch(/ any cpu$/);
    refused(["vcpu-pin", "counter1", "0", "99"], "CPU 99 does not exist on this host (it has " + /^nr_cpus\s+: (\d+)$/m.exec(xmOk(root, "info"))![1] + ")");
  });

  it("renames", () => {
    xmOk(root, "rename", "idle1", "quiet1");
    expect(listMap(root).quiet1).toMatch(/^2 /);
    refused(["rename", "quiet1", "counter1"], "Domain 'counter1' already exists with ID '1'");
    refused(["rename", "quiet1", "no good"], "name 'no good' may contain only letters, digits and _ . : + @ - (and must not start with one of . : + @ -)");
    xmOk(root, "rename", "2", "idle1");
    expect(listMap(root).idle1).toMatch(/^2 /);
  });

  it("follows a console, passes keys to the guest, and detaches on Ctrl-]", async () => {
    const child = spawn(xvmBin(), ["xm", "console", "counter1"], { env: { ...process.env, XVM_ROOT: root }, stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number>((r) => child.on("close", (code) => r(code ?? -1)));
    await waitFor(() => heartbeats(out).length >= 1, "a heartbeat on the console");
    const seen = heartbeats(out).at(-1)!;
    await waitFor(() => heartbeats(out).at(-1)! > seen, "the next heartbeat, live");
    child.stdin.write("help\n");
    await waitFor(() => out.includes("commands: poweroff halt reboot panic lsblk ip link\n"), "the guest's answer");
    child.stdin.write("\x1d");
    expect(await exited).toBe(0);
    expect(out.startsWith("xvm-sim guest kernel (sim:counter) booting: 1 vCPU(s), 128 MiB\n")).toBe(true);
    const q = xm(root, "console", "-q", "nope");
    expect([q.code, q.stderr]).toEqual([1, ""]);
    refused(["console", "nope"], "Domain 'nope' does not exist.");
  });

  it("crashes a guest with sysrq c; on_crash = preserve keeps it crashed until destroyed", async () => {
    const before = heartbeats(await consoleText(root, "counter1")).at(-1)!;
    xmOk(root, "sysrq", "counter1", "c");
    await waitFor(() => listMap(root).counter1 === "1 ----c-", "counter1 crashed");
    expect(await consoleText(root, "counter1")).toContain("Kernel panic - not syncing: sysrq triggered crash");
    expect(heartbeats(await consoleText(root, "counter1")).at(-1)!).toBeGreaterThanOrEqual(before);
    refused(["pause", "counter1"], "Domain 'counter1' is crashed; cannot pause.");
    refused(["sysrq", "counter1", "cc"], "invalid request body: key: a sysrq key is one character");
    xmOk(root, "destroy", "counter1");
    expect(listMap(root).counter1).toBeUndefined();
  });

  it("manages domains: new, start, delete", () => {
    expect(xmOk(root, "new", "examples/idle.cfg", "name=managed1")).toBe('Using config file "./examples/idle.cfg".\n');
    expect(listMap(root).managed1).toBe(" ");
    expect(xmOk(root, "domid", "managed1")).toBe("None\n");
    const started = xmOk(root, "start", "managed1");
    expect(started).toMatch(/^Started domain managed1 \(id=\d+\)\n$/);
    refused(["start", "managed1"], "Domain 'managed1' is already running; cannot start.");
    refused(["delete", "managed1"], "Domain 'managed1' is running (destroy or shut it down first); cannot delete.");
    refused(["create", "examples/idle.cfg", "name=managed1"], `Domain 'managed1' already exists with ID '${/id=(\d+)/.exec(started)![1]}'`);
    xmOk(root, "destroy", "managed1");
    expect(listMap(root).managed1).toBe(" ");
    xmOk(root, "delete", "managed1");
    expect(listMap(root).managed1).toBeUndefined();
    refused(["delete", "managed1"], "Domain 'managed1' does not exist.");
  });

  it("shuts down and reboots, waiting with -w", () => {
    expect(xmOk(root, "shutdown", "-w", "idle1")).toBe("Domain idle1 terminated\nAll domains terminated\n");
    expect(listMap(root).idle1).toBeUndefined();
    xmOk(root, "create", "examples/idle.cfg", "name=idle2");
    const id = listMap(root).idle2!.split(" ")[0]!;
    expect(xmOk(root, "reboot", "-w", "idle2")).toBe("Domain idle2 rebooted\nAll domains rebooted\n");
    const after = listMap(root).idle2!.split(" ")[0]!;
    expect(Number(after)).toBeGreaterThan(Number(id));
  });

  it("sends triggers", async () => {
    refused(["trigger", "idle2", "init"], "trigger init (an HVM trigger) on the sim hypervisor is not implemented");
    refused(["trigger", "idle2", "boom"], "Invalid trigger 'boom': use one of nmi, reset, init, power, sleep");
    const id = Number(listMap(root).idle2!.split(" ")[0]);
    xmOk(root, "trigger", "idle2", "reset");
    expect(Number(listMap(root).idle2!.split(" ")[0])).toBe(id + 1);
    xmOk(root, "trigger", "idle2", "power");
    await waitFor(() => listMap(root).idle2 === undefined, "idle2 powered off");
  });

  it("reads and clears the hypervisor's messages, and prints xend's log", () => {
    const dmesg = xmOk(root, "dmesg");
    expect(dmesg).toMatch(/^\(XEN\) sim hypervisor 3\.4\.0-xvm-sim on .*: \d+ CPUs, \d+ MiB\n/);
    expect(dmesg).toContain("(XEN) Domain 1 (counter1) created: 128 MiB, 1 vCPU(s)\n");
    expect(dmesg).toContain("(XEN) sysrq 'c' sent to domain 1\n");
    expect(dmesg).toContain("(XEN) Domain 1 (counter1) crashed: Kernel panic - not syncing: sysrq triggered crash\n");
    expect(xmOk(root, "dmesg", "-c")).toBe(dmesg);
    expect(xmOk(root, "dmesg")).toBe("");
    const log = xmOk(root, "log");
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+\] INFO \(domain\/creation:\d+\) Domain counter1 \(1\) created: 128 MiB, 1 vCPU\(s\), kernel sim:counter$/m);
    expect(log).toContain("Domain counter1 (1): on_crash = preserve");
  });

  it("shuts every guest down with -a -w", () => {
    xmOk(root, "create", "examples/idle.cfg", "name=a1");
    xmOk(root, "create", "examples/idle.cfg", "name=a2");
    const out = xmOk(root, "shutdown", "-a", "-w");
    expect(out.split("\n").filter(Boolean).sort()).toEqual(["All domains terminated", "Domain a1 terminated", "Domain a2 terminated"]);
    expect(Object.keys(listMap(root))).toEqual(["Domain-0"]);
  });
});
