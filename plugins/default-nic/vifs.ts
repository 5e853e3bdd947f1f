/**
 * Defaults for a guest's vifs: a MAC in Xen's range when none is given (xend's randomMAC():
 * 00:16:3e, then a byte in 00-7f and two random bytes), unique among the host's domains, and the
 * default NIC as `bridge` when none is named.
 */
import { randomInt } from "node:crypto";
import type { VifConfig } from "xvm/plugin";

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function isMac(text: string): boolean {
  return MAC_RE.test(text);
}

export function normalizeMac(mac: string): string {
  return mac.toLowerCase();
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** A MAC in 00:16:3e:00:00:00-00:16:3e:7f:ff:ff not in `taken` (lower case). */
export function uniqueXenMac(taken: ReadonlySet<string>, random: (max: number) => number = randomInt): string {
  // 2^23 addresses: a random draw is unique at once on any real host; the walk below only runs
  // when the range is nearly full.
  for (let tries = 0; tries < 64; tries++) {
    const mac = `00:16:3e:${hex(random(0x80))}:${hex(random(0x100))}:${hex(random(0x100))}`;
    if (!taken.has(mac)) return mac;
  }
  for (let n = 0; n < 0x800000; n++) {
    const mac = `00:16:3e:${hex(n >> 16)}:${hex((n >> 8) & 0xff)}:${hex(n & 0xff)}`;
    if (!taken.has(mac)) return mac;
  }
  throw new Error("every MAC address in Xen's range 00:16:3e:00:00:00-00:16:3e:7f:ff:ff is in use");
}

export interface VifDefaults {
  /** Bridge for vifs without one; undefined leaves them unattached. */
  nic: string | undefined;
  /** MACs already used on the host (lower case); the ones handed out are added. */
  taken: Set<string>;
}

export interface VifChange {
  index: number;
  mac?: string;
  bridge?: string;
}

/** Fills in `mac` and `bridge` where a vif has none, in place; returns what was filled in. */
export function fillVifDefaults(vifs: VifConfig[], defaults: VifDefaults, random?: (max: number) => number): VifChange[] {
  const changes: VifChange[] = [];
  vifs.forEach((vif, index) => {
    const change: VifChange = { index };
    if (!vif.mac) {
      vif.mac = uniqueXenMac(defaults.taken, random);
      defaults.taken.add(vif.mac);
      change.mac = vif.mac;
    }
    if (!vif.bridge && defaults.nic) {
      vif.bridge = defaults.nic;
      change.bridge = defaults.nic;
    }
    if (change.mac !== undefined || change.bridge !== undefined) changes.push(change);
  });
  return changes;
}
