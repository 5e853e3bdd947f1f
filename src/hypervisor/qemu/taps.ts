/**
 * A guest's vifs as tap devices, made before QEMU starts (QEMU opens them by name with
 * `script=no`, so it needs no privilege and no helper). A vif whose `bridge=` names a Linux bridge
 * is put on it, as Xen's vif-bridge script did; one naming another link (the default-nic plugin's
 * choice on a host without a bridge) gets an unattached tap the administrator can route.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import type { Tap } from "./command-line.ts";

const run = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args, { timeout: 10_000 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
  }
}

export function isBridge(name: string): boolean {
  return existsSync(`/sys/class/net/${name}/bridge`);
}

/** `owner`: QEMU's uid/gid when it does not run as xend's user (it must open the taps). */
export async function createTaps(taps: readonly Tap[], owner?: { uid: number; gid: number }): Promise<void> {
  const made: Tap[] = [];
  try {
    for (const tap of taps) {
      if (existsSync(`/sys/class/net/${tap.ifname}`)) throw new Error(`network interface ${tap.ifname} already exists`);
      await ip("tuntap", "add", "dev", tap.ifname, "mode", "tap", ...(owner ? ["user", String(owner.uid), "group", String(owner.gid)] : []));
      made.push(tap);
      if (tap.bridge && isBridge(tap.bridge)) await ip("link", "set", tap.ifname, "master", tap.bridge);
      await ip("link", "set", tap.ifname, "up");
    }
  } catch (error) {
    await removeTaps(made).catch(() => {});
    throw error;
  }
}

export async function removeTaps(taps: readonly Tap[]): Promise<void> {
  for (const tap of taps) {
    if (existsSync(`/sys/class/net/${tap.ifname}`)) await ip("link", "del", tap.ifname).catch(() => {});
  }
}
