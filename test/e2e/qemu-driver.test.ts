/**
 * The qemu hypervisor driver through the compiled binary, under TCG: real Linux guests (Debian's
 * cloud kernel + a busybox initramfs, examples/qemu/build-guest.sh) created, listed, paused,
 * ballooned, given vCPUs, crashed, shut down and destroyed with xm; then xend killed with -9 while
 * three guests run, and a new xend finds them with the same ids, names, uuids and states. Where
 * the test can have a network namespace (root), xend runs in one with a bridge: two guests' vifs
 * are taps on it and the guests ping each other.
 *
 * Guests boot in about 5 s each under TCG (more on a loaded machine): the tests share three
 * guests and run in order.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, pidAlive, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { addNamespaces, deleteNamespaces, ip } from "../helpers/netns.ts";
import { INIT_READY, ensureGuest, guestConfig, qemuSkipReason } from "../helpers/qemu-guest.ts";
import { consoleText, killXend, listRows, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

const skip = qemuSkipReason();
if (skip) console.warn(`qemu e2e tests skipped: ${skip}`);

const BOOT_MS = 90_000;
/**
 * xend runs in a network namespace of the test's own (where it can have one: root), with a
 * bridge xvmbr0 there: g2 and g3 get vifs on it and ping each other.
 */
const NS = `xvm-qemu-${process.pid}`;
const noNet = skip === undefined ? addNamespaces(NS) : "no QEMU";
if (skip === undefined && noNet) console.warn(`qemu e2e: networking checks skipped: ${noNet}`);
const inNs = noNet === undefined ? ["ip", "netns", "exec", NS] : [];

describe.skipIf(skip !== undefined)(`qemu driver under TCG${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let root: string;
  let xend: Xend | undefined;

  const api = <T>(method: string, path: string, body?: unknown) => unixJson<T>(join(root, "var/run/xend/control.sock"), method, path, body, 30_000);
  const row = (name: string) => listRows(root).find((r) => r.name === name);
  const cfg = (name: string, extra: string[] = []) => {
    const path = join(root, `${name}.cfg`);
    writeFileSync(path, guestConfig(name, extra));
    return path;
  };
  const booted = (name: string) => waitFor(async () => (await consoleText(root, name)).includes(INIT_READY), `${name} to reach init`, BOOT_MS, 200);
  /** Types a command into the guest's shell and waits for the marker it prints. */
  const shell = async (name: string, command: string, marker: string) => {
    await api("POST", `/domains/${name}/console`, { data: `${command}\n` });
    await waitFor(async () => (await consoleText(root, name)).includes(marker), `${marker} on ${name}'s console`, 30_000, 100);
  };

  beforeAll(async () => {
    ensureGuest();
    root = tempRoot("xvm-qemu-");
    // config/default-nic names the test's bridge: a vif without bridge= goes there.
    prepareRoot(root, { relocation: false, props: { hypervisor: "qemu", "qemu-accel": "tcg", ...(noNet === undefined ? { "default-nic": "xvmbr0" } : {}) } });
    if (noNet === undefined) {
      for (const args of [["link", "set", "lo", "up"], ["link", "add", "xvmbr0", "type", "bridge"], ["link", "set", "xvmbr0", "up"]]) {
        const r = ip("-n", NS, ...args);
        if (!r.ok) throw new Error(`ip -n ${NS} ${args.join(" ")}: ${r.err}`);
      }
    }
    xend = await startXend(root, { XVM_MINIMUM_RESTART_TIME: "0" }, inNs);
  });

  afterAll(async () => {
    try {
      if (root) await cleanupRoot(root, xend ? [xend.pid] : []);
    } finally {
      if (noNet === undefined) deleteNamespaces(NS);
    }
  });

  const vif = (n: number) => (noNet === undefined ? [`vif = [ 'mac=00:16:3e:00:00:1${n}, bridge=xvmbr0' ]`] : []);
  const nsLinks = () => spawnSync("ip", ["-n", NS, "-o", "link", "show"], { encoding: "utf8" }).stdout ?? "";

  test("xm create boots a Linux guest; xm list shows it; its console answers; pause and unpause", async () => {
    const out = xmOk(root, "create", cfg("g1", ["memory = 128", "maxmem = 160", "vcpus = 1", "maxvcpus = 2", 'on_crash = "preserve"']));
    expect(out).toContain("Started domain g1 (id=1)");
    await booted("g1");
    expect(row("g1")).toMatchObject({ id: "1", mem: 128, vcpus: 1 });
    expect(row("g1")!.state).toMatch(/^(r-|-b)----$/);
    await shell("g1", "echo answer-$((6*7))", "answer-42");
    xmOk(root, "pause", "g1");
    expect(row("g1")!.state).toBe("--p---");
    xmOk(root, "unpause", "g1");
    expect(row("g1")!.state).toMatch(/^(r-|-b)----$/);
    const info = xmOk(root, "info");
    expect(info).toMatch(/^xen_caps\s+: hvm-qemu-x86_64-tcg$/m);
  }, BOOT_MS + 60_000);

  test("balloon, vCPU hot-add (no removal), pinning, maxmem bounded by the boot size", async () => {
    xmOk(root, "mem-set", "g1", "100");
    await waitFor(() => row("g1")!.mem === 100, "g1 ballooned to 100 MiB", 30_000, 200);
    xmOk(root, "vcpu-set", "g1", "2");
    await waitFor(() => row("g1")!.vcpus === 2, "g1 to have 2 vCPUs", 30_000, 200);
    await waitFor(async () => (await consoleText(root, "g1")).includes("cpu1 online"), "the guest to online cpu1", 30_000, 200);
    const down = xm(root, "vcpu-set", "g1", "1");
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("adds vCPUs but does not remove them");
    xmOk(root, "vcpu-pin", "g1", "0", "0");
    // Affinity 0 (last column); the CPU column is where the thread last ran, which a sleeping
    // vCPU thread has not updated yet.
    expect(xmOk(root, "vcpu-list", "g1").split("\n")[1]).toMatch(/^g1\s+1\s+0\s+\d+\s+\S+\s+[\d.]+\s+0$/);
    const max = xm(root, "mem-max", "g1", "512");
    expect(max.code).toBe(1);
    expect(max.stderr).toContain("above the 160 MiB it was started with");
  }, 120_000);

  /** readelf accepts a QEMU ELF dump and `xvm mdb` reads its status, registers and pages. */
  const checkDump = (file: string, vcpus: number, ramMiB: number) => {
    const elf = spawnSync("readelf", ["-h", "-l", "-W", file], { encoding: "utf8" });
    expect(elf.status, elf.stderr).toBe(0);
    expect(elf.stdout).toMatch(/Type:\s+CORE \(Core file\)/);
    expect(elf.stdout).toMatch(/^\s+NOTE\s/m);
    // The guest's RAM at guest-physical 0, as large as QEMU started it (maxmem).
    expect(elf.stdout).toMatch(new RegExp(`^\\s+LOAD\\s+0x[0-9a-f]+ 0x0+ 0x0+ 0x0*${(ramMiB * 1024 * 1024).toString(16)} `, "m"));
    const mdb = run(["mdb", file], { root, input: "::status\n::regs\n100::page\n::quit\n" });
    expect(mdb.code, mdb.stderr).toBe(0);
    expect(mdb.stdout).toContain("format:      QEMU dump-guest-memory, ELF64 ET_CORE");
    expect(mdb.stdout).toContain(`vCPUs:       ${vcpus}`);
    expect(mdb.stdout).toMatch(/^    %rip\s+= 0xffffffff[0-9a-f]{8} /m);
    expect(mdb.stdout).toContain("page frame 0x100 (guest-physical 0x100000-0x100fff):");
  };

  test("xm dump-core writes QEMU's ELF dump (dump-guest-memory); readelf and xvm mdb read it", () => {
    const file = join(root, "g1.core");
    const r = xm(root, "dump-core", "g1", file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Core dumped to ${file}`);
    checkDump(file, 2, 160);
    expect(row("g1")!.state).toMatch(/^(r-|-b)----$/);
  }, 60_000);

  test("kill -9 xend with three guests (paused, crashed, running): a new xend finds them as they were", async () => {
    xmOk(root, "create", cfg("g2", ['on_crash = "preserve"', ...vif(2)]));
    xmOk(root, "create", cfg("g3", ['on_crash = "destroy"', 'on_poweroff = "destroy"', ...vif(3)]));
    await Promise.all([booted("g2"), booted("g3")]);
    if (noNet === undefined) {
      // Each vif is a tap on the bridge; in the guests, busybox sees the MAC and pings the other.
      expect(nsLinks()).toMatch(/: vif2\.0: .* master xvmbr0 /);
      expect(nsLinks()).toMatch(/: vif3\.0: .* master xvmbr0 /);
      await shell("g2", "cat /sys/class/net/eth0/address; ip link set eth0 up; ip addr add 10.9.0.2/24 dev eth0; echo net-$((1+1))", "net-2");
      expect(await consoleText(root, "g2")).toContain("00:16:3e:00:00:12");
      await shell("g3", "ip link set eth0 up; ip addr add 10.9.0.3/24 dev eth0; echo net-$((1+2))", "net-3");
      await shell("g3", "ping -c 2 -W 5 10.9.0.2 && echo ping-ok-$((3*3))", "ping-ok-9");
    }
    xmOk(root, "sysrq", "g2", "c");
    await waitFor(() => row("g2")!.state === "----c-", "g2 to crash (pvpanic)", 30_000, 100);
    // enable-dump wrote QEMU's dump under xend's file name before on_crash (preserve) ran.
    const dumps = await waitFor(() => {
      const found = readdirSync(join(root, "var/xen/dump")).filter((f) => /^\d{4}-\d{4}-\d{4}\.\d{2}-g2\.2\.core$/.test(f));
      return found.length === 1 && xmOk(root, "log").includes("dumped core of domain g2") ? found : undefined;
    }, "enable-dump's dump of g2", 30_000, 200);
    checkDump(join(root, "var/xen/dump", dumps[0]!), 1, 128);
    xmOk(root, "pause", "g1");
    const before = (await api<{ domains: { name: string; domid: number; uuid: string; state: string }[] }>("GET", "/domains")).domains
      .filter((d) => d.domid !== 0).map(({ name, domid, uuid, state }) => ({ name, domid, uuid, state: state.replace(/^(r-|-b)/, "R-") }));
    expect(before.map((d) => d.state)).toEqual(["--p---", "----c-", expect.stringMatching(/^R-----$/)]);

    await killXend(xend!);
    xend = await startXend(root, { XVM_MINIMUM_RESTART_TIME: "0" }, inNs);
    const after = (await api<{ domains: { name: string; domid: number; uuid: string; state: string }[] }>("GET", "/domains")).domains
      .filter((d) => d.domid !== 0).map(({ name, domid, uuid, state }) => ({ name, domid, uuid, state: state.replace(/^(r-|-b)/, "R-") }));
    expect(after).toEqual(before);
    // The console works through the new xend, and history from before the restart is kept.
    await shell("g3", "echo after-restart-$((40+2))", "after-restart-42");
    expect(await consoleText(root, "g3")).toContain(INIT_READY);
    xmOk(root, "unpause", "g1");
    expect(row("g1")!.state).toMatch(/^(r-|-b)----$/);
  }, BOOT_MS * 2 + 60_000);

  test("a QEMU killed behind xend's back is a crash, handled once by on_crash", async () => {
    const g3 = (await api<{ pid?: number }>("GET", "/domains/g3")).pid;
    expect(g3).toBeGreaterThan(1);
    process.kill(g3!, "SIGKILL");
    await waitFor(() => !pidAlive(g3!) && row("g3") === undefined, "g3 to be destroyed by on_crash", 30_000, 100);
    const log = xmOk(root, "log");
    expect(log.match(/Domain g3 \(\d+\) crashed/g)).toHaveLength(1);
    if (noNet === undefined) await waitFor(() => !nsLinks().includes("vif3.0"), "g3's tap to go", 10_000, 100);
  }, 60_000);

  test("an HVM config boots the firmware from its disk with VNC on 127.0.0.1; a missing disk and an unsupported key are named", async () => {
    const img = join(root, "h1.img");
    writeFileSync(img, Buffer.alloc(1024 * 1024));
    const hvm = ['builder = "hvm"', `disk = [ 'file:${img},xvda,w' ]`, 'boot = "c"', "vnc = 1", "memory = 64"];
    const missing = xm(root, "create", cfg("h0", [...hvm.filter((l) => !l.startsWith("disk")), `disk = [ 'file:${root}/nope.img,xvda,w' ]`]));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${root}/nope.img does not exist`);
    const pci = xm(root, "create", cfg("h0", [...hvm, "pci = [ '01:00.0' ]"]));
    expect(pci.code).toBe(1);
    expect(pci.stderr).toContain("the qemu hypervisor does not support 'pci'");
    xmOk(root, "create", cfg("h1", hvm));
    const pid = (await api<{ pid: number }>("GET", "/domains/h1")).pid;
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    expect(args).toEqual(expect.arrayContaining(["-boot", "order=c", "-vnc", "127.0.0.1:0,to=99", "-drive", `file=${img},if=none,format=raw,readonly=off,id=disk0`, "virtio-blk-pci,drive=disk0,addr=8.0"]));
    expect(args).not.toContain("-kernel");
    expect(row("h1")!.state).toMatch(/^(r-|-b)----$/);
    if (noNet === undefined) {
      // In the test's namespace display 0 is free: QEMU's VNC server answers on 127.0.0.1:5900.
      const rfb = await waitFor(() => {
        const r = spawnSync("ip", ["netns", "exec", NS, "python3", "-c",
          "import socket; s = socket.create_connection(('127.0.0.1', 5900), 5); print(s.recv(12).decode().strip())"], { encoding: "utf8" });
        return r.status === 0 ? r.stdout.trim() : undefined;
      }, "QEMU's VNC server", 20_000, 200);
      expect(rfb).toMatch(/^RFB 003\.00\d$/);
    }
    xmOk(root, "destroy", "h1");
  }, 60_000);

  // The default-nic plugin names the link for a vif without bridge= (config/default-nic, here the
  // test's bridge): its tap goes on that bridge, as xVM's vif script did.
  test.skipIf(noNet !== undefined)("a vif without bridge= gets a tap on the default NIC's bridge", async () => {
    xmOk(root, "create", "-p", cfg("n1", ["vif = [ 'mac=00:16:3e:00:00:19' ]"]));
    const { domid } = await api<{ domid: number }>("GET", "/domains/n1");
    expect(nsLinks()).toMatch(new RegExp(`: vif${domid}\\.0: .* master xvmbr0 `));
    expect(xmOk(root, "network-list", "n1")).toMatch(/00:16:3e:00:00:19/);
    xmOk(root, "destroy", "n1");
    expect(nsLinks()).not.toContain(`vif${domid}.0`);
  }, 60_000);

  test("xm shutdown -w powers a guest off through ACPI; xm destroy ends the others", async () => {
    const shut = xm(root, "shutdown", "-w", "g1");
    expect(shut.code, shut.stderr).toBe(0);
    expect(row("g1")).toBeUndefined();
    xmOk(root, "destroy", "g2");
    expect(listRows(root).map((r) => r.name)).toEqual(["Domain-0"]);
    if (noNet === undefined) expect(nsLinks()).not.toContain("vif2.0");
  }, 90_000);
});
