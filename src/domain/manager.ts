/**
 * The domain manager: the daemon's model of every domain (Domain-0, guests the driver runs, and
 * inactive managed domains), their life cycle and the actions taken when a guest stops.
 *
 * - Domain ids grow from 1 and are not reused while the daemon lives or after it restarts (the next
 *   id is kept in var/run/xend/next-domid, as the hypervisor keeps counting under xend).
 * - What the manager knows about a guest (its config, managed flag, start time, restart count) is
 *   stored with the guest in the driver's `meta`, so a new daemon (even after kill -9) re-attaches
 *   to the same guests with the same ids, names, uuids and configs.
 * - Operations on one domain run one after the other (a per-domid queue), and so do the handlers of
 *   its events; creations and memory changes share one queue so that two of them never count the
 *   same free memory.
 * - A guest that shuts down, reboots or crashes goes through its on_poweroff/on_reboot/on_crash
 *   action; a runner that vanishes (driver `lost` event) is a crash. Restarts are refused, and the
 *   domain destroyed, when the previous restart was less than MINIMUM_RESTART_TIME ago, as xend did.
 *
 * This file is the façade; the rooms behind it:
 *   model.ts        shared state, queues, lookups, dmesg ring, hooks   records.ts  what is kept per guest
 *   attach.ts       re-attach at start, driver events, close           summaries.ts  list/get views
 *   creation.ts     create, define/start/undefine, rename, launch      stop-actions.ts  on_* actions
 *   lifecycle.ts    destroy, pause, shutdown, sysrq, trigger           resources.ts  memory and vCPUs
 *   console.ts      console read/write/follow                  saves.ts   save/restore/suspend/resume
 *   devices.ts      block-/network-attach and -detach           disks.ts   disk specs, vbd numbers, checks
 */
import type { GuestInfo, SchedParams } from "../hypervisor/driver.ts";
import * as attaching from "./attach.ts";
import * as consoles from "./console.ts";
import * as creation from "./creation.ts";
import * as lifecycle from "./lifecycle.ts";
import { DomainModel, type DomainManagerOptions } from "./model.ts";
import * as resources from "./resources.ts";
import * as saves from "./saves.ts";
import * as devices from "./devices.ts";
import * as xendActions from "./xend-actions.ts";
import * as scheduler from "./scheduler.ts";
import { getDomain, listDomains } from "./summaries.ts";
import type { ConsoleWatch, DomainConfig, DomainManager, DomainSummary, DomainTrigger, HostResources, NodeInfo, SaveProgress, SaveResult, VifConfig, XendStartOutcome, XendStopOutcome } from "./types.ts";

export type { DomainManagerOptions } from "./model.ts";
export { DOM0_NAME, DOM0_UUID, MINIMUM_RESTART_TIME } from "./records.ts";

export interface DomainManagerHandle extends DomainManager {
  /** Re-attach to guests that outlived a previous daemon (on_xend_start is `onXendStart`'s). */
  attach(): Promise<void>;
  /** Stop watching guests (guests keep running). */
  close(): Promise<void>;
  onXendStart(): Promise<XendStartOutcome[]>;
  onXendStop(timeoutMs: number): Promise<XendStopOutcome[]>;
}

export class Manager implements DomainManagerHandle {
  private readonly m: DomainModel;

  constructor(options: DomainManagerOptions) {
    this.m = new DomainModel(options);
  }

  attach(): Promise<void> { return attaching.attach(this.m); }
  close(): Promise<void> { return attaching.close(this.m); }

  list(): Promise<DomainSummary[]> { return listDomains(this.m); }
  get(dom: string | number): Promise<DomainSummary> { return getDomain(this.m, dom); }
  async guest(dom: string | number): Promise<GuestInfo> {
    const rec = this.m.requireActive(dom, "inspect");
    return this.m.driver.info(rec.domid);
  }

  create(config: DomainConfig, options?: { paused?: boolean; incoming?: boolean }): Promise<DomainSummary> { return creation.create(this.m, config, options); }
  define(config: DomainConfig): Promise<DomainSummary> { return creation.define(this.m, config); }
  start(dom: string | number, options?: { paused?: boolean }): Promise<DomainSummary> { return creation.start(this.m, dom, options); }
  undefine(dom: string | number): Promise<void> { return creation.undefine(this.m, dom); }
  rename(dom: string | number, newName: string): Promise<void> { return creation.rename(this.m, dom, newName); }

  destroy(dom: string | number): Promise<void> { return lifecycle.destroy(this.m, dom); }
  pause(dom: string | number): Promise<void> { return lifecycle.pause(this.m, dom); }
  unpause(dom: string | number): Promise<void> { return lifecycle.unpause(this.m, dom); }
  shutdown(dom: string | number, reason: "poweroff" | "halt" | "reboot" | "suspend"): Promise<void> { return lifecycle.shutdown(this.m, dom, reason); }
  sysrq(dom: string | number, key: string): Promise<void> { return lifecycle.sysrq(this.m, dom, key); }
  trigger(dom: string | number, trigger: DomainTrigger, vcpu?: number): Promise<void> { return lifecycle.trigger(this.m, dom, trigger, vcpu); }
  notifyMigrated(dom: string | number, direction: "in" | "out", peer: string): Promise<void> { return lifecycle.notifyMigrated(this.m, dom, direction, peer); }

  save(dom: string | number, file: string, options: { checkpoint: boolean; onProgress?: (p: SaveProgress) => void }): Promise<SaveResult> { return saves.save(this.m, dom, file, options); }
  restore(file: string, options: { paused: boolean; onProgress?: (p: SaveProgress) => void }): Promise<DomainSummary> { return saves.restore(this.m, file, options); }
  suspend(dom: string | number, onProgress?: (p: SaveProgress) => void): Promise<SaveResult> { return saves.suspend(this.m, dom, onProgress); }
  resume(dom: string | number, options: { paused: boolean; onProgress?: (p: SaveProgress) => void }): Promise<DomainSummary> { return saves.resume(this.m, dom, options); }

  blockAttach(dom: string | number, backdev: string, frontdev: string, mode: string): Promise<void> { return devices.blockAttach(this.m, dom, backdev, frontdev, mode); }
  blockDetach(dom: string | number, devId: string): Promise<void> { return devices.blockDetach(this.m, dom, devId); }
  networkAttach(dom: string | number, options: string[]): Promise<VifConfig> { return devices.networkAttach(this.m, dom, options); }
  networkDetach(dom: string | number, devId: string): Promise<void> { return devices.networkDetach(this.m, dom, devId); }

  setMemoryTarget(dom: string | number, target: number): Promise<void> { return resources.setMemoryTarget(this.m, dom, target); }
  setMaxMemory(dom: string | number, maxmem: number): Promise<void> { return resources.setMaxMemory(this.m, dom, maxmem); }
  setVcpus(dom: string | number, count: number): Promise<void> { return resources.setVcpus(this.m, dom, count); }
  pinVcpu(dom: string | number, vcpu: number | "all", cpus: number[] | "all"): Promise<void> { return resources.pinVcpu(this.m, dom, vcpu, cpus); }
  schedCredit(dom: string | number): Promise<SchedParams> { return scheduler.schedCredit(this.m, dom); }
  setSchedCredit(dom: string | number, change: { weight?: number; cap?: number }): Promise<SchedParams> { return scheduler.setSchedCredit(this.m, dom, change); }
  setHostResources(update: HostResources): void { this.m.host.set(update); }
  nodeInfo(): Promise<NodeInfo> { return resources.nodeInfo(this.m); }

  consoleRead(dom: string | number): Promise<string> { return consoles.consoleRead(this.m, dom); }
  consoleWrite(dom: string | number, data: string): Promise<void> { return consoles.consoleWrite(this.m, dom, data); }
  watchConsole(dom: string | number): Promise<ConsoleWatch> { return consoles.watchConsole(this.m, dom); }
  dmesg(clear = false): string { return this.m.dmesg(clear); }

  onXendStart(): Promise<XendStartOutcome[]> { return xendActions.onXendStart(this.m); }
  onXendStop(timeoutMs: number): Promise<XendStopOutcome[]> { return xendActions.onXendStop(this.m, timeoutMs); }
}

export function createDomainManager(options: DomainManagerOptions): DomainManagerHandle {
  return new Manager(options);
}
