/**
 * Device hot-plug on the qemu driver through the compiled binary, under TCG (issue 15.2): one
 * Linux guest (examples/qemu/build-guest.sh) boots with a virtio disk; xm block-attach gives it a
 * second one it writes to (the bytes land in the file), a read-only third one it sees read-only;
 * block-detach takes away the hot-plugged disk and the one it booted with (QMP device_del; the
 * guest keeps running: QEMU 7.2 under TCG crashes after a vCPU device_del, not after these).
 * Where the test can have a network namespace, network-attach gives the guest a virtio NIC on a
 * tap on the namespace's bridge, and network-detach takes both away.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { addNamespaces, deleteNamespaces, ip } from "../helpers/netns.ts";
import { INIT_READY, ensureGuest, guestConfig, qemuSkipReason } from "../helpers/qemu-guest.ts";
import { consoleText, listRows, startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

const skip = qemuSkipReason();
if (skip) console.warn(`qemu device e2e tests skipped: ${skip}`);

const BOOT_MS = 90_000;
const NS = `xvm-qdev-${process.pid}`;
const noNet = skip === undefined ? addNamespaces(NS) : "no QEMU";
if (skip === undefined && noNet) console.warn(`qemu device e2e: vif checks skipped: ${noNet}`);
const inNs = noNet === undefined ? ["ip", "netns", "exec", NS] : [];
const SIZE = 1024 * 1024;

describe.skipIf(skip !== undefined)(`qemu device hot-plug under TCG${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let root: string;
  let xend: Xend | undefined;

  const api = <T>(method: string, path: string, body?: unknown) => unixJson<T>(join(root, "var/run/xend/control.sock"), method, path, body, 30_000);
  const row = (name: string) => listRows(root).find((r) => r.name === name);
  /** Types a command into the guest's shell and waits for the marker it prints (not the echo of the command). */
  const shell = async (command: string, marker: RegExp): Promise<string> => {
    await api("POST", "/domains/q1/console", { data: `${command}\n` });
    const m = await waitFor(async () => marker.exec(await consoleText(root, "q1")), `${marker} on q1's console`, 30_000, 100);
    return m[1] ?? m[0];
  };
  let probe = 0;
  /**
   * Asks the guest `what` (a shell expression) until it answers `want`: the guest probes a
   * hot-plugged device (or finishes an eject) a moment after QEMU's device_add / DEVICE_DELETED.
   */
  const guestSees = async (what: string, want: string) => {
    let got = "";
    await waitFor(async () => {
      const n = ++probe;
      got = await shell(`echo q-$((${n}+1000)):${what}:`, new RegExp(`q-${n + 1000}:(.*):`));
      return got === want;
    }, `q1 to see ${what} = '${want}' (last: '${got}')`, 30_000, 200);
  };
  const blocks = (want: string) => guestSees("$(ls /sys/block | tr '\\n' ,)", want);

  beforeAll(async () => {
    ensureGuest();
    root = tempRoot("xvm-qdev-");
    prepareRoot(root, { relocation: false, props: { hypervisor: "qemu", "qemu-accel": "tcg" } });
    for (const f of ["d0.img", "d1.img", "d2.img"]) writeFileSync(join(root, f), Buffer.alloc(SIZE));
    if (noNet === undefined) {
      for (const args of [["link", "set", "lo", "up"], ["link", "add", "xvmbr0", "type", "bridge"], ["link", "set", "xvmbr0", "up"]]) {
        const r = ip("-n", NS, ...args);
        if (!r.ok) throw new Error(`ip -n ${NS} ${args.join(" ")}: ${r.err}`);
      }
    }
    xend = await startXend(root, {}, inNs);
  });

  afterAll(async () => {
    try {
      if (root) await cleanupRoot(root, xend ? [xend.pid] : []);
    } finally {
      if (noNet === undefined) deleteNamespaces(NS);
    }
  });

  test("block-attach gives the running guest a disk it writes to; read-only stays read-only; block-detach takes disks away", async () => {
    writeFileSync(join(root, "q1.cfg"), guestConfig("q1", ["memory = 128", `disk = [ 'file:${root}/d0.img,xvda,w' ]`]));
    xmOk(root, "create", join(root, "q1.cfg"));
    await waitFor(async () => (await consoleText(root, "q1")).includes(INIT_READY), "q1 to reach init", BOOT_MS, 200);
    await blocks("vda,");

    expect(xm(root, "block-attach", "q1", `file:${root}/d1.img`, "xvdb", "w")).toEqual({ code: 0, stdout: "", stderr: "" });
    await blocks("vda,vdb,");
    await shell("printf 'hotplug-%s\\n' $((40+2)) > /dev/vdb && sync && echo wrote-$((2*3))", /wrote-6/);
    await waitFor(() => readFileSync(join(root, "d1.img")).subarray(0, 11).toString() === "hotplug-42\n", "the guest's write in d1.img", 10_000, 100);

    expect(xm(root, "block-attach", "q1", `file:${root}/d2.img`, "xvdc", "r")).toEqual({ code: 0, stdout: "", stderr: "" });
    await blocks("vda,vdb,vdc,");
    await guestSees("$(cat /sys/block/vdc/ro)", "1");
    expect(xmOk(root, "block-list", "q1").split("\n").slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(["51712", "51728", "51744"]);

    expect(xm(root, "block-detach", "q1", "xvdb")).toEqual({ code: 0, stdout: "", stderr: "" });
    await blocks("vda,vdc,");
    // The disk the guest booted with (-drive, no device id) goes by its QOM path.
    expect(xm(root, "block-detach", "q1", "xvda")).toEqual({ code: 0, stdout: "", stderr: "" });
    await blocks("vdc,");
    expect(xmOk(root, "block-list", "q1").split("\n").slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(["51744"]);
    // Attached again at the same name after a detach: a fresh node and device.
    expect(xm(root, "block-attach", "q1", `file:${root}/d1.img`, "xvdb", "r")).toEqual({ code: 0, stdout: "", stderr: "" });
    await blocks("vda,vdc,");
    await guestSees("$(head -c 10 /dev/vda)", "hotplug-42");

    // A paused guest cannot eject a device: refused at once, nothing changes.
    xmOk(root, "pause", "q1");
    const paused = xm(root, "block-detach", "q1", "xvdb");
    expect([paused.code, paused.stderr]).toEqual([1, "Error: Domain '1' is paused; cannot detach disk xvdb (the guest must eject it: unpause it first).\n"]);
    xmOk(root, "unpause", "q1");
    expect(xmOk(root, "block-list", "q1").split("\n").slice(1, -1).map((l) => l.split(/\s+/)[0])).toEqual(["51744", "51728"]);
    // Saved and restored after all that: the restored QEMU, started from the config, has the disks
    // in the PCI slots they were hot-plugged into (pci-slots.ts), so the saved state loads.
    const save = join(root, "q1.save");
    expect(xm(root, "save", "q1", save).code).toBe(0);
    const restored = xm(root, "restore", save);
    expect([restored.code, restored.stderr.split("\n").filter((l) => l.startsWith("Error"))]).toEqual([0, []]);
    await blocks("vda,vdc,");
    await guestSees("$(head -c 10 /dev/vda)", "hotplug-42");

    // No crash after device_del: the guest still answers, and QEMU runs.
    await shell("echo alive-$((6*7))", /alive-42/);
    expect(row("q1")!.state).toMatch(/^(r-|-b)----$/);
  }, BOOT_MS + 120_000);

  test.skipIf(noNet !== undefined)("network-attach gives the guest a NIC on a tap on the bridge; network-detach takes both away", async () => {
    const id = row("q1")!.id;
    expect(xm(root, "network-attach", "q1", "bridge=xvmbr0", "mac=00:16:3e:00:00:5a")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(xm(root, "network-attach", "q1", "bridge=xvmbr0", "mac=00:16:3e:00:00:5b")).toEqual({ code: 0, stdout: "", stderr: "" });
    const links = () => spawnSync("ip", ["-n", NS, "-o", "link", "show"], { encoding: "utf8" }).stdout ?? "";
    expect(links()).toMatch(new RegExp(`: vif${id}\\.0: .* master xvmbr0 `));
    expect(links()).toMatch(new RegExp(`: vif${id}\\.1: .* master xvmbr0 `));
    await guestSees("$(cat /sys/class/net/eth0/address /sys/class/net/eth1/address 2>/dev/null | tr '\\n' ,)", "00:16:3e:00:00:5a,00:16:3e:00:00:5b,");
    // Each NIC keeps the slot of its index: only the last one may go.
    const middle = xm(root, "network-detach", "q1", "0");
    expect([middle.code, middle.stderr]).toEqual([1, expect.stringContaining("only the last network interface can be detached (vif 0 has later ones")]);
    expect(xm(root, "network-detach", "q1", "1")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(xm(root, "network-detach", "q1", "0")).toEqual({ code: 0, stdout: "", stderr: "" });
    await guestSees("$(ls /sys/class/net | tr '\\n' ,)", "lo,");
    expect(links()).not.toMatch(new RegExp(`vif${id}\\.`));
    await shell("echo alive-$((7*7))", /alive-49/);
  }, 120_000);
});
