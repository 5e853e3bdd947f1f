/**
 * Hot-plugged devices (issue 15.2): `xm block-attach` / `block-detach` and `network-attach` /
 * `network-detach` change a domain's `disk` and `vif` lists, running or inactive managed, as xend
 * 3.4's device_create / destroyDevice did for PV domains. A disk's backing file or device must
 * exist (./disks.ts), a vif's `bridge=` must name a link of this host (`xvm dladm show-link`).
 * For a running (or paused) domain the driver hot-plugs the device first (HypervisorDriver
 * attachDisk / detachDisk / attachVif / detachVif: the sim runner opens or closes the backing, qemu
 * adds or removes a virtio device), and the config changes only once it did, so a failure leaves
 * both as they were. A driver without them gets the change in the config alone (in force from the
 * next start). The config is what block-list, network-list, `xm list -l` and the legacy interface show.
 */
import { XvmError } from "../errors.ts";
import { checkDomainConfig, formatVifSpec, parseVifSpec } from "./config-spec.ts";
import { assignMacs } from "./creation.ts";
import { checkDiskBacking, guestDisk, guestVif, parseDiskSpec, vbdNumber } from "./disks.ts";
import type { DomainModel } from "./model.ts";
import { checkVifBridges } from "./vif-bridges.ts";
import type { Active } from "./records.ts";
import { changeInactive } from "./resources.ts";
import type { DomainConfig, VifConfig } from "./types.ts";

/** What reaches the running guest before its config changes (old config, new config). */
type Hotplug = (rec: Active, before: DomainConfig, after: DomainConfig) => Promise<void>;

async function change(m: DomainModel, dom: string | number, action: string, edit: (c: DomainConfig) => Partial<DomainConfig>, hotplug?: Hotplug): Promise<void> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action, dom: 0 });
  if (found.kind === "inactive") {
    await changeInactive(m, found.config, action, edit);
    return;
  }
  await m.withDomain(found.rec.domid, action, async (rec) => {
    await m.requireLive(rec, action);
    const delta = edit(rec.config);
    const next = { ...rec.config, ...delta };
    const problems = checkDomainConfig(next);
    if (problems.length) throw new XvmError("DOMAIN_CONFIG", { detail: problems.map((p) => `${p.field} ${p.message}`).join("; ") });
    await hotplug?.(rec, rec.config, next);
    await m.updateConfig(rec, delta);
  });
}

function nameOf(m: DomainModel, dom: string | number): string {
  const found = m.resolve(dom);
  return found.kind === "dom0" ? "Domain-0" : found.kind === "active" ? found.rec.config.name : found.config.name;
}

export async function blockAttach(m: DomainModel, dom: string | number, backdev: string, frontdev: string, mode: string): Promise<void> {
  const spec = `${backdev},${frontdev},${mode}`;
  if (!/^(r|w|w!)$/.test(mode)) throw new XvmError("DOMAIN_CONFIG", { detail: `mode '${mode}' must be r, w or w!` });
  if (vbdNumber(frontdev) < 0) throw new XvmError("DOMAIN_CONFIG", { detail: `'${frontdev}' is not a virtual device name (xvda, hdb, sdc1, or a number)` });
  checkDiskBacking(nameOf(m, dom), [spec], true);
  await change(m, dom, "attach a disk to", (c) => {
    const devid = vbdNumber(frontdev);
    if (c.disk.some((d) => parseDiskSpec(d).devid === devid)) {
      throw new XvmError("DOMAIN_CONFIG", { detail: `Domain '${c.name}' already has a disk at ${frontdev} (device ${devid})` });
    }
    return { disk: [...c.disk, spec] };
  }, async (rec) => {
    await m.driver.attachDisk?.(rec.domid, guestDisk(spec));
  });
  m.log.info(`Domain ${nameOf(m, dom)}: disk ${spec} attached`);
}

/** `DevId` is the device number (51712) or the front-end name (xvda). */
export async function blockDetach(m: DomainModel, dom: string | number, devId: string): Promise<void> {
  const want = /^\d+$/.test(devId) ? Number(devId) : vbdNumber(devId);
  await change(m, dom, "detach a disk from", (c) => {
    const left = c.disk.filter((d) => parseDiskSpec(d).devid !== want);
    if (left.length === c.disk.length) throw new XvmError("XVM_NOT_FOUND", { detail: `Device ${devId} not connected` });
    return { disk: left };
  }, async (rec, before) => {
    const spec = before.disk.find((d) => parseDiskSpec(d).devid === want)!;
    await m.driver.detachDisk?.(rec.domid, guestDisk(spec));
  });
  m.log.info(`Domain ${nameOf(m, dom)}: disk ${devId} detached`);
}

export async function networkAttach(m: DomainModel, dom: string | number, options: string[]): Promise<VifConfig> {
  const { vif, problems } = parseVifSpec(options.join(","));
  if (problems.length) throw new XvmError("DOMAIN_CONFIG", { detail: problems.join("; ") });
  checkVifBridges(nameOf(m, dom), [vif], true);
  await change(m, dom, "attach a network interface to", (c) => {
    const next = { ...c, vif: [...c.vif, vif] };
    // A vif needs its MAC before the guest sees it (xend's randomMAC, unique on this host).
    assignMacs(m, next);
    return { vif: next.vif };
  }, async (rec, _before, after) => {
    await m.driver.attachVif?.(rec.domid, guestVif(after.vif[after.vif.length - 1]!, after.vif.length - 1));
  });
  m.log.info(`Domain ${nameOf(m, dom)}: vif ${formatVifSpec(vif)} attached`);
  return vif;
}

/** `DevId` is the vif's index (xm network-list's Idx). */
export async function networkDetach(m: DomainModel, dom: string | number, devId: string): Promise<void> {
  if (!/^\d+$/.test(devId)) throw new XvmError("DOMAIN_CONFIG", { detail: `'${devId}' is not a vif index (xm network-list shows them)` });
  const idx = Number(devId);
  await change(m, dom, "detach a network interface from", (c) => {
    if (idx >= c.vif.length) throw new XvmError("XVM_NOT_FOUND", { detail: `Device ${devId} not connected` });
    return { vif: c.vif.filter((_, i) => i !== idx) };
  }, async (rec, before) => {
    await m.driver.detachVif?.(rec.domid, guestVif(before.vif[idx]!, idx));
  });
  m.log.info(`Domain ${nameOf(m, dom)}: vif ${idx} detached`);
}
