/**
 * The domain manager's shared state and the helpers every concern uses: the records of running
 * guests and managed configs, the queues that order operations, lookups by name/domid/uuid, the
 * hypervisor's message ring, hooks. The concerns themselves live beside it: `creation.ts`,
 * `stop-actions.ts`, `lifecycle.ts`, `resources.ts`, `console.ts`, `attach.ts`; `manager.ts` is
 * the façade.
 */
import { join } from "node:path";
import { errorMessage, XvmError } from "../errors.ts";
import type { GuestEvent, GuestInfo, HypervisorDriver, PhysInfo } from "../hypervisor/driver.ts";
import type { Paths } from "../paths.ts";
import type { Hooks } from "./hooks.ts";
import type { Logger } from "../logger.ts";
import { isUuid } from "./config-spec.ts";
import { HostAccount } from "./host.ts";
import { Queues } from "./queues.ts";
import { type Active, DOM0_NAME, DOM0_UUID, type FullConfig, MINIMUM_RESTART_TIME, SHUTDOWN_TIMEOUT, metaOf } from "./records.ts";
import { stateWord } from "./state.ts";
import { ManagedStore } from "./store.ts";
import { StoppedStore } from "./stopped.ts";
import type { DomainConfig } from "./types.ts";

export interface DomainManagerOptions {
  driver: HypervisorDriver;
  paths: Paths;
  log: Logger;
  /** Fires a hook on every plugin, in registration order, awaiting each. */
  fire<K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): Promise<void>;
  /** Seconds between two restarts below which a domain is not restarted again (xend [3.4]: 60). */
  minimumRestartTime?: number;
  /** Clock in epoch milliseconds (tests). */
  now?: () => number;
}

/** Xen's console ring was 16 KiB by default. */
const DMESG_LIMIT = 16 * 1024;

export type Found = { kind: "dom0" } | { kind: "active"; rec: Active } | { kind: "inactive"; config: FullConfig };

export class DomainModel {
  readonly driver: HypervisorDriver;
  readonly paths: Paths;
  readonly log: Logger;
  readonly fireHook: DomainManagerOptions["fire"];
  readonly minimumRestartTime: number;
  /** Seconds a guest has to act on a shutdown request (XVM_SHUTDOWN_TIMEOUT overrides it for tests). */
  readonly shutdownTimeout: number;
  readonly now: () => number;
  readonly store: ManagedStore;
  /** Stop handling already done, and destroys begun (src/domain/stopped.ts). */
  readonly stopped: StoppedStore;
  readonly host = new HostAccount();
  readonly queues = new Queues();
  readonly active = new Map<number, Active>();
  /** Managed configs by uuid, running or not. */
  readonly managed = new Map<string, FullConfig>();
  /** Names claimed by creations in progress. */
  readonly claimed = new Set<string>();
  nextDomid = 1;
  unsubscribe?: () => void;
  /** Events that arrived while attach() was adopting guests: replayed once it has. */
  early?: GuestEvent[];
  closed = false;
  private phys?: PhysInfo;
  private ring = "";

  constructor(options: DomainManagerOptions) {
    this.driver = options.driver;
    this.paths = options.paths;
    this.log = options.log;
    this.fireHook = options.fire;
    // XVM_MINIMUM_RESTART_TIME (seconds) lets tests exercise restarts without waiting a minute.
    const fromEnv = Number(process.env.XVM_MINIMUM_RESTART_TIME);
    this.minimumRestartTime = options.minimumRestartTime ?? (process.env.XVM_MINIMUM_RESTART_TIME && fromEnv >= 0 ? fromEnv : MINIMUM_RESTART_TIME);
    const shutdownFromEnv = Number(process.env.XVM_SHUTDOWN_TIMEOUT);
    this.shutdownTimeout = process.env.XVM_SHUTDOWN_TIMEOUT && shutdownFromEnv > 0 ? shutdownFromEnv : SHUTDOWN_TIMEOUT;
    this.now = options.now ?? Date.now;
    this.store = new ManagedStore(options.paths.domainsDir, options.log);
    this.stopped = new StoppedStore(join(options.paths.xendLibDir, "stopped"), options.log);
  }

  // ---- order -------------------------------------------------------------------------------------

  queue<T>(domid: number, task: () => Promise<T>): Promise<T> {
    return this.queues.run(`dom:${domid}`, task);
  }

  resources<T>(task: () => Promise<T>): Promise<T> {
    return this.queues.run("resources", task);
  }

  // ---- host ----------------------------------------------------------------------------------------

  async physInfo(): Promise<PhysInfo> {
    // Totals and CPUs do not change while the daemon runs; asking the driver lists every guest.
    this.phys ??= await this.driver.physInfo();
    return this.phys;
  }

  /**
   * What running guests take from the host: their memory targets, plus what each costs the host
   * beyond its memory (the driver's estimate: sim's runner process, issue 13 §4).
   */
  guestsKiB(): number {
    let sum = 0;
    for (const rec of this.active.values()) if (!rec.lost && !rec.destroyed) sum += rec.targetKiB + this.overheadKiB(rec.config.maxvcpus ?? rec.config.vcpus);
    return sum;
  }

  /** Host memory (KiB) a guest with `maxVcpus` vCPUs takes beyond its memory; 0 if the driver says nothing. */
  overheadKiB(maxVcpus: number): number {
    return this.driver.guestOverheadKiB?.(maxVcpus) ?? 0;
  }

  // ---- lookups -------------------------------------------------------------------------------------

  activeByUuid(uuid: string): Active | undefined {
    for (const rec of this.active.values()) if (rec.config.uuid === uuid) return rec;
    return undefined;
  }

  /** Resolves a reference as xend did: name (running, then managed), domid, then uuid. */
  resolve(dom: string | number): Found {
    const text = String(dom).trim();
    if (text === DOM0_NAME) return { kind: "dom0" };
    for (const rec of this.active.values()) if (rec.config.name === text) return { kind: "active", rec };
    for (const c of this.managed.values()) if (c.name === text && !this.activeByUuid(c.uuid)) return { kind: "inactive", config: c };
    if (/^\d+$/.test(text)) {
      const domid = Number(text);
      if (domid === 0) return { kind: "dom0" };
      const rec = this.active.get(domid);
      if (rec) return { kind: "active", rec };
    }
    const uuid = text.toLowerCase();
    if (uuid === DOM0_UUID) return { kind: "dom0" };
    if (isUuid(uuid)) {
      const rec = this.activeByUuid(uuid);
      if (rec) return { kind: "active", rec };
      const c = this.managed.get(uuid);
      if (c) return { kind: "inactive", config: c };
    }
    throw new XvmError("DOMAIN_NOT_FOUND", { dom: text });
  }

  /** The running domain `dom` names, or a clear error (Domain-0, inactive, unknown). */
  requireActive(dom: string | number, action: string): Active {
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action, dom: 0 });
    if (found.kind === "inactive") throw new XvmError("DOMAIN_BAD_STATE", { dom: found.config.name, state: "not running", action });
    return found.rec;
  }

  /**
   * Runs `op` in the domain's queue once it is its turn. A domain replaced meanwhile (restarted
   * under a new id) is looked up again, so `xm pause web1` during a restart pauses the new web1.
   */
  withDomain<T>(dom: string | number, action: string, op: (rec: Active) => Promise<T>, retried = false): Promise<T> {
    const rec = this.requireActive(dom, action);
    return this.queue(rec.domid, async () => {
      if (this.active.get(rec.domid) === rec && !rec.destroyed) return op(rec);
      // A domain id names one incarnation: once it is gone, so is the domain it named.
      if (retried || typeof dom === "number" || /^\d+$/.test(String(dom).trim())) throw new XvmError("DOMAIN_NOT_FOUND", { dom: String(dom) });
      return this.withDomain(dom, action, op, true);
    });
  }

  async requireLive(rec: Active, action: string, allowPaused = true): Promise<GuestInfo> {
    if (rec.lost) throw new XvmError("DOMAIN_BAD_STATE", { dom: rec.config.name, state: "crashed (its runner is gone)", action });
    const info = await this.driver.info(rec.domid);
    rec.info = info;
    const flags = { running: info.running, blocked: info.blocked, paused: info.paused, shutdown: info.shutdown, crashed: info.crashed, dying: info.dying || rec.dying };
    if (flags.shutdown || flags.crashed || flags.dying || (!allowPaused && flags.paused)) {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: rec.config.name, state: stateWord(flags, true), action });
    }
    return info;
  }

  // ---- records and configs -----------------------------------------------------------------------

  saveManaged(config: FullConfig): void {
    this.store.save(config);
  }

  async updateConfig(rec: Active, change: Partial<DomainConfig>): Promise<void> {
    rec.config = { ...rec.config, ...change };
    if (!rec.lost) await this.driver.setMeta(rec.domid, rec.config.name, metaOf(rec) as unknown as Record<string, unknown>);
    if (rec.managed) {
      this.managed.set(rec.config.uuid, rec.config);
      this.saveManaged(rec.config);
    }
  }

  /** Drops a record from the model and ends its console watchers. */
  forget(rec: Active, why: string): void {
    if (this.active.get(rec.domid) === rec) {
      this.active.delete(rec.domid);
      this.stopped.remove(rec.domid);
    }
    for (const w of rec.watchers) w.end(why);
    rec.watchers.clear();
  }

  // ---- hooks and messages --------------------------------------------------------------------------

  async fireQuietly<K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): Promise<void> {
    try {
      await this.fireHook(hook, ...args);
    } catch (error) {
      this.log.error(`hook ${hook}: ${errorMessage(error)}`);
    }
  }

  dmesg(clear = false): string {
    const text = this.ring;
    if (clear) this.ring = "";
    return text;
  }

  dmesgLine(line: string): void {
    this.ring += `${line}\n`;
    if (this.ring.length > DMESG_LIMIT) this.ring = this.ring.slice(this.ring.indexOf("\n", this.ring.length - DMESG_LIMIT) + 1);
  }
}
