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
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { XvmError, errorMessage } from "../errors.ts";
import type { GuestEvent, GuestInfo, GuestSpec, HypervisorDriver, PhysInfo, VcpuInfo } from "../hypervisor/driver.ts";
import type { Paths } from "../paths.ts";
import type { Hooks, Logger } from "../plugin/contract.ts";
import { checkDomainConfig, isUuid, nameProblem } from "./config-spec.ts";
import { parseCpuList, formatCpuList } from "./cpus.ts";
import { HostAccount, cpuBusyNs, hostBootTime, nodeInfo } from "./host.ts";
import { NO_FLAGS, stateString, stateWord } from "./state.ts";
import { ManagedStore, writeFileAtomicSync } from "./store.ts";
import type {
  ConsoleWatch, DomainAction, DomainConfig, DomainCreateRequest, DomainManager, DomainStateFlags, DomainSummary,
  DomainTrigger, HostResources, NodeInfo,
} from "./types.ts";

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

export interface DomainManagerHandle extends DomainManager {
  /** Re-attach to guests that outlived a previous daemon; start managed auto-start domains. */
  attach(): Promise<void>;
  /** Stop watching guests (guests keep running). */
  close(): Promise<void>;
}

/** xend [3.4] XendDomainInfo.MINIMUM_RESTART_TIME. */
export const MINIMUM_RESTART_TIME = 60;
export const DOM0_NAME = "Domain-0";
export const DOM0_UUID = "00000000-0000-0000-0000-000000000000";
/** Xen's console ring was 16 KiB by default. */
const DMESG_LIMIT = 16 * 1024;

type FullConfig = DomainConfig & { uuid: string };

/** What the manager stores with a guest in the driver's meta. */
interface GuestMeta {
  xvm: 1;
  config: FullConfig;
  managed: boolean;
  startTime: number;
  restartCount: number;
  previousRestartTime?: number;
}

interface Active {
  domid: number;
  config: FullConfig;
  managed: boolean;
  startTime: number;
  restartCount: number;
  previousRestartTime?: number;
  /** Memory the guest was given, KiB (kept here so accounting needs no round trip). */
  targetKiB: number;
  /** Last answer of the driver: used when the guest cannot answer (runner gone). */
  info?: GuestInfo;
  /** The runner vanished; the record stays only if on_crash kept it (preserve). */
  lost: boolean;
  /** Being destroyed by the manager. */
  dying: boolean;
  /** Gone from the hypervisor; still listed (dying) while a restart replaces it. */
  destroyed?: boolean;
  /** Its shutdown or crash was handled (so an event seen twice, or a late lost, acts once). */
  stopHandled: boolean;
  stopReason?: string;
  watchers: Set<ConsoleSubscriber>;
}

interface ConsoleSubscriber {
  data(text: string): void;
  end(reason: string): void;
}

function isMeta(meta: unknown): meta is GuestMeta {
  const m = meta as Partial<GuestMeta> | undefined;
  return !!m && m.xvm === 1 && typeof m.config === "object" && m.config !== null && typeof m.config.name === "string";
}

function mib(kib: number): number {
  return Math.floor(kib / 1024);
}

/** One promise chain per key: tasks of a key run in order, tasks of different keys in parallel. */
class Queues {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }
}

export class Manager implements DomainManagerHandle {
  private readonly driver: HypervisorDriver;
  private readonly paths: Paths;
  private readonly log: Logger;
  private readonly fireHook: DomainManagerOptions["fire"];
  private readonly minimumRestartTime: number;
  private readonly now: () => number;
  private readonly store: ManagedStore;
  private readonly host = new HostAccount();
  private readonly queues = new Queues();
  private readonly active = new Map<number, Active>();
  /** Managed configs by uuid, running or not. */
  private readonly managed = new Map<string, FullConfig>();
  /** Names claimed by creations in progress. */
  private readonly claimed = new Set<string>();
  private nextDomid = 1;
  private phys?: PhysInfo;
  private unsubscribe?: () => void;
  /** Events that arrived while attach() was adopting guests: replayed once it has. */
  private early?: GuestEvent[];
  private ring = "";
  private closed = false;

  constructor(options: DomainManagerOptions) {
    this.driver = options.driver;
    this.paths = options.paths;
    this.log = options.log;
    this.fireHook = options.fire;
    // XVM_MINIMUM_RESTART_TIME (seconds) lets tests exercise restarts without waiting a minute.
    const fromEnv = Number(process.env.XVM_MINIMUM_RESTART_TIME);
    this.minimumRestartTime = options.minimumRestartTime ?? (process.env.XVM_MINIMUM_RESTART_TIME && fromEnv >= 0 ? fromEnv : MINIMUM_RESTART_TIME);
    this.now = options.now ?? Date.now;
    this.store = new ManagedStore(options.paths.domainsDir, options.log);
  }

  // ---- start and stop ------------------------------------------------------------------------

  async attach(): Promise<void> {
    mkdirSync(this.paths.domainsDir, { recursive: true, mode: 0o700 });
    for (const config of this.store.load()) this.managed.set(config.uuid, config);
    this.early = [];
    this.unsubscribe = this.driver.subscribe((event) => this.dispatch(event));
    let guests: GuestInfo[];
    let phys: PhysInfo;
    try {
      guests = await this.driver.list();
      phys = await this.physInfo();
    } catch (error) {
      // Without the driver's list nothing can be adopted; events are handled as they come.
      const early = this.early;
      this.early = undefined;
      for (const event of early) this.dispatch(event);
      throw error;
    }
    for (const g of guests) this.adopt(g);
    this.nextDomid = Math.max(this.readDomidCounter(), ...[...this.active.keys()].map((d) => d + 1), 1);
    this.dmesgLine(`(XEN) ${phys.hypervisor.name} hypervisor ${phys.hypervisor.major}.${phys.hypervisor.minor}${phys.hypervisor.extra} on ${phys.hostname}: ${phys.nrCpus} CPUs, ${mib(phys.totalMemoryKiB)} MiB`);
    if (this.active.size > 0) {
      this.log.info(`re-attached to ${this.active.size} running domain(s): ${[...this.active.values()].map((r) => `${r.config.name} (${r.domid})`).join(", ")}`);
    }
    const early = this.early;
    this.early = undefined;
    for (const event of early) this.dispatch(event);
    // A stop that happened while no daemon listened, and whose event an earlier daemon already
    // took, shows only in the guest's state: handle it as the event would have been.
    for (const rec of this.active.values()) {
      const info = rec.info;
      if (!info) continue;
      if (rec.lost || info.crashed) this.queue(rec.domid, () => this.onCrash(rec, rec.lost ? "the guest's runner died while xend was not running" : "crashed while xend was not running"));
      else if (info.shutdown) this.queue(rec.domid, () => this.onShutdown(rec, info.shutdownReason || "poweroff"));
    }
    for (const config of this.managed.values()) {
      if (config.on_xend_start !== "start" || this.activeByUuid(config.uuid)) continue;
      try {
        const d = await this.start(config.uuid);
        this.log.info(`started managed domain ${d.name} (${d.domid}) (on_xend_start = start)`);
      } catch (error) {
        this.log.error(`could not start managed domain ${config.name} (on_xend_start = start): ${errorMessage(error)}`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await Promise.race([this.queues.idle(), new Promise((r) => setTimeout(r, 10_000).unref?.())]);
    for (const rec of this.active.values()) for (const w of rec.watchers) w.end("xend is stopping");
  }

  private adopt(g: GuestInfo): void {
    const meta = isMeta(g.meta) ? g.meta : undefined;
    const config: FullConfig = meta
      ? { ...meta.config, name: g.name || meta.config.name, uuid: g.uuid || meta.config.uuid }
      : {
        // A guest started by something else: describe it from what the driver knows.
        name: g.name, uuid: g.uuid, memory: mib(g.targetKiB), maxmem: mib(g.maxMemKiB),
        vcpus: Math.max(1, g.vcpus.filter((v) => v.online).length), maxvcpus: g.maxVcpus, kernel: "unknown",
        on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [],
      };
    const rec: Active = {
      domid: g.domid, config, managed: meta?.managed ?? false, startTime: meta?.startTime ?? g.startTime,
      restartCount: meta?.restartCount ?? 0, previousRestartTime: meta?.previousRestartTime, targetKiB: g.targetKiB,
      info: g, lost: g.lost === true, dying: false, stopHandled: false, watchers: new Set(),
    };
    this.active.set(g.domid, rec);
    if (rec.managed && !this.managed.has(config.uuid)) {
      // Its stored config was lost (or deleted by hand): the running guest's copy is the config now.
      this.managed.set(config.uuid, config);
      this.saveManaged(config);
    }
  }

  // ---- events ----------------------------------------------------------------------------------

  private dispatch(event: GuestEvent): void {
    if (this.early) {
      this.early.push(event);
      return;
    }
    if (this.closed) return;
    if (event.type === "console") {
      const rec = this.active.get(event.domid);
      if (rec) for (const w of rec.watchers) w.data(event.data);
      return;
    }
    this.queue(event.domid, async () => {
      const rec = this.active.get(event.domid);
      if (!rec || rec.dying) return;
      if (event.type === "lost") {
        rec.lost = true;
        if (rec.stopHandled) {
          // Kept by preserve, and now its runner is gone too: only the record is left.
          this.log.warn(`Domain ${rec.config.name} (${rec.domid}): ${event.detail}; it was already ${rec.stopReason ?? "stopped"} and is kept as a record only`);
          return;
        }
        return this.onCrash(rec, event.detail);
      }
      if (event.type === "crashed") return this.onCrash(rec, event.detail);
      if (event.reason === "crash") return this.onCrash(rec, "crashed");
      return this.onShutdown(rec, event.reason);
    }).catch((error) => this.log.error(`handling ${event.type} of domain ${event.domid}: ${errorMessage(error)}`));
  }

  private async onCrash(rec: Active, detail: string): Promise<void> {
    if (rec.stopHandled || this.active.get(rec.domid) !== rec) return;
    rec.stopHandled = true;
    rec.stopReason = "crashed";
    const name = rec.config.name;
    this.log.warn(`Domain ${name} (${rec.domid}) crashed: ${detail}`);
    this.dmesgLine(`(XEN) Domain ${rec.domid} (${name}) crashed: ${detail}`);
    const summary = await this.summaryOf(rec);
    const action = rec.config.on_crash;
    await this.fireQuietly("domainCrashed", summary, { wantDump: action === "coredump-destroy" || action === "coredump-restart" });
    await this.runAction(rec, action, "crash");
  }

  private async onShutdown(rec: Active, reason: string): Promise<void> {
    if (rec.stopHandled || this.active.get(rec.domid) !== rec) return;
    rec.stopHandled = true;
    rec.stopReason = reason === "reboot" ? "rebooting" : "shut down";
    this.log.info(`Domain ${rec.config.name} (${rec.domid}) shut down: ${reason}`);
    this.dmesgLine(`(XEN) Domain ${rec.domid} (${rec.config.name}) shutdown: ${reason}`);
    await this.fireQuietly("domainShutdown", await this.summaryOf(rec), reason);
    const action: DomainAction = reason === "reboot" ? rec.config.on_reboot : reason === "suspend" ? "preserve" : rec.config.on_poweroff;
    await this.runAction(rec, action, reason);
  }

  private async runAction(rec: Active, action: DomainAction, reason: string): Promise<void> {
    const key = reason === "crash" ? "on_crash" : reason === "reboot" ? "on_reboot" : "on_poweroff";
    this.log.info(`Domain ${rec.config.name} (${rec.domid}): ${key} = ${action}`);
    switch (action) {
      case "destroy":
      case "coredump-destroy":
        await this.destroyRecord(rec);
        return;
      case "preserve":
        this.log.info(`Domain ${rec.config.name} (${rec.domid}) is preserved ${rec.stopReason}${rec.lost ? " (its memory is gone with its runner)" : ""}; 'xm destroy ${rec.config.name}' removes it`);
        return;
      case "restart":
      case "coredump-restart":
        await this.restartRecord(rec, false);
        return;
      case "rename-restart":
        await this.restartRecord(rec, true);
        return;
    }
  }

  /** xend's _restart, with its loop guard: a second restart within MINIMUM_RESTART_TIME is refused. */
  private async restartRecord(rec: Active, rename: boolean, guard = true): Promise<Active | undefined> {
    const now = this.now() / 1000;
    const name = rec.config.name;
    if (guard && rec.previousRestartTime !== undefined && now - rec.previousRestartTime < this.minimumRestartTime) {
      const since = now - rec.previousRestartTime;
      this.log.error(`VM ${name} restarting too fast (${since.toFixed(6)} seconds since the last restart).  Refusing to restart to avoid loops.`);
      this.dmesgLine(`(XEN) Domain ${rec.domid} (${name}) restarting too fast; destroyed`);
      await this.destroyRecord(rec);
      return undefined;
    }
    const config: FullConfig = { ...rec.config };
    if (rename) {
      // The old domain stays, preserved, under a fresh name and uuid; the config restarts as itself.
      const uuid = randomUUID();
      rec.config = { ...rec.config, name: `Domain-${uuid}`, uuid };
      rec.managed = false;
      if (!rec.lost) await this.driver.setMeta(rec.domid, rec.config.name, this.metaOf(rec) as unknown as Record<string, unknown>).catch((e) => this.log.warn(`renaming domain ${rec.domid}: ${errorMessage(e)}`));
      this.log.info(`Domain ${name} (${rec.domid}) preserved as ${rec.config.name}`);
    } else {
      // The old domain stays listed as dying (`-----d`) until its successor exists, so that the
      // domain never vanishes from lookups by name or uuid in between (xm reboot -w follows it).
      await this.destroyRecord(rec, { keepListed: true });
    }
    try {
      // A restart the administrator asked for (trigger reset) does not arm the loop guard.
      const next = await this.launch(config, {
        managed: this.managed.has(config.uuid), paused: false, restartCount: rec.restartCount + 1, previousRestartTime: guard ? now : rec.previousRestartTime,
        replacing: rename ? undefined : rec,
      });
      this.log.info(`Domain ${name} restarted as domain ${next.domid} (restart ${next.restartCount})`);
      return next;
    } catch (error) {
      if (!rename) this.forget(rec, "the domain was destroyed");
      this.log.error(`Failed to restart domain ${name}: ${errorMessage(error)}`);
      this.dmesgLine(`(XEN) Domain ${name} failed to restart`);
      return undefined;
    }
  }

  /** Drops a record from the model and ends its console watchers. */
  private forget(rec: Active, why: string): void {
    if (this.active.get(rec.domid) === rec) this.active.delete(rec.domid);
    for (const w of rec.watchers) w.end(why);
    rec.watchers.clear();
  }

  /**
   * Removes a guest from the hypervisor and from the model; fires domainDestroyed. With
   * `keepListed`, the record stays (dying) for a restart to replace.
   */
  private async destroyRecord(rec: Active, options: { keepListed?: boolean } = {}): Promise<void> {
    if (this.active.get(rec.domid) !== rec || (rec.dying && rec.destroyed)) return;
    const summary = await this.summaryOf(rec);
    rec.dying = true;
    if (!rec.lost) {
      try {
        await this.driver.destroy(rec.domid);
      } catch (error) {
        if (!(error instanceof XvmError && error.code === "DOMAIN_NOT_FOUND")) {
          rec.dying = false;
          throw error;
        }
      }
    }
    rec.destroyed = true;
    if (!options.keepListed) this.forget(rec, "the domain was destroyed");
    this.log.info(`Domain ${rec.config.name} (${rec.domid}) destroyed`);
    this.dmesgLine(`(XEN) Domain ${rec.domid} (${rec.config.name}) destroyed`);
    await this.fireQuietly("domainDestroyed", { ...summary, flags: { ...summary.flags, dying: true }, state: stateString({ ...summary.flags, dying: true }) });
  }

  private async fireQuietly<K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): Promise<void> {
    try {
      await this.fireHook(hook, ...args);
    } catch (error) {
      this.log.error(`hook ${hook}: ${errorMessage(error)}`);
    }
  }

  // ---- creation ----------------------------------------------------------------------------------

  private queue<T>(domid: number, task: () => Promise<T>): Promise<T> {
    return this.queues.run(`dom:${domid}`, task);
  }

  private resources<T>(task: () => Promise<T>): Promise<T> {
    return this.queues.run("resources", task);
  }

  private async physInfo(): Promise<PhysInfo> {
    // Totals and CPUs do not change while the daemon runs; asking the driver lists every guest.
    this.phys ??= await this.driver.physInfo();
    return this.phys;
  }

  private guestsKiB(): number {
    let sum = 0;
    for (const rec of this.active.values()) if (!rec.lost && !rec.destroyed) sum += rec.targetKiB;
    return sum;
  }

  private readDomidCounter(): number {
    try {
      const n = Number.parseInt(readFileSync(join(this.paths.runDir, "next-domid"), "utf8"), 10);
      return Number.isInteger(n) && n > 0 ? n : 1;
    } catch {
      return 1;
    }
  }

  private allocateDomid(): number {
    while (this.active.has(this.nextDomid)) this.nextDomid++;
    const domid = this.nextDomid++;
    try {
      writeFileAtomicSync(join(this.paths.runDir, "next-domid"), `${this.nextDomid}\n`, 0o644);
    } catch (error) {
      this.log.warn(`cannot record the next domain id: ${errorMessage(error)}`);
    }
    return domid;
  }

  /** Checks a config as the API or a plugin handed it; fills in uuid and MACs. */
  private prepare(input: DomainConfig): FullConfig {
    const config = structuredClone(input) as DomainConfig;
    config.vif = config.vif ?? [];
    config.disk = config.disk ?? [];
    const problems = checkDomainConfig(config);
    if (problems.length > 0) {
      throw new XvmError("DOMAIN_CONFIG", { detail: problems.map((p) => `${p.field} ${p.message}`).join("; ") });
    }
    const uuid = config.uuid ?? randomUUID();
    return { ...config, uuid: uuid.toLowerCase() };
  }

  /** Gives every vif without a MAC one in Xen's range 00:16:3e, unique among this host's domains. */
  private assignMacs(config: FullConfig): void {
    const used = new Set<string>();
    const note = (c: DomainConfig) => c.vif.forEach((v) => v.mac && used.add(v.mac.toLowerCase()));
    for (const rec of this.active.values()) note(rec.config);
    for (const c of this.managed.values()) note(c);
    config.vif.forEach((v) => v.mac && used.add(v.mac.toLowerCase()));
    for (const vif of config.vif) {
      if (vif.mac) continue;
      let mac: string;
      do {
        const b = randomBytes(3);
        // xend's randomMAC: the fourth octet stays below 0x80.
        mac = ["00", "16", "3e", (b[0]! & 0x7f).toString(16), b[1]!.toString(16), b[2]!.toString(16)].map((x) => x.padStart(2, "0")).join(":");
      } while (used.has(mac));
      used.add(mac);
      vif.mac = mac;
    }
  }

  /** Name and uuid must be unique among running domains and managed ones (same uuid = same domain). */
  private checkUnique(config: FullConfig, options: { allowManagedUuid?: boolean; replacing?: Active; incoming?: boolean } = {}): void {
    if (config.name === DOM0_NAME) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: 0 });
    for (const rec of this.active.values()) {
      if (rec === options.replacing) continue;
      if (rec.config.name === config.name) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: rec.domid });
      if (rec.config.uuid === config.uuid) throw new XvmError("DOMAIN_UUID_TAKEN", { uuid: config.uuid, name: rec.config.name });
    }
    if (this.claimed.has(config.name)) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: "(being created)" });
    for (const c of this.managed.values()) {
      if (options.allowManagedUuid && c.uuid === config.uuid) continue;
      if (c.name === config.name) throw new XvmError("DOMAIN_NAME_TAKEN", { name: c.name, uuid: c.uuid });
      if (c.uuid === config.uuid) throw new XvmError("DOMAIN_UUID_TAKEN", { uuid: config.uuid, name: c.name });
    }
  }

  private affinityFor(config: FullConfig, placement: number[] | undefined, phys: PhysInfo): number[][] {
    const maxVcpus = config.maxvcpus ?? config.vcpus;
    let cpus: number[] = [];
    if (config.cpus !== undefined) {
      cpus = parseCpuList(config.cpus);
      const missing = cpus.filter((c) => c >= phys.nrCpus);
      if (missing.length > 0) {
        throw new XvmError("DOMAIN_CONFIG", {
          detail: `cpus '${config.cpus}': CPU ${formatCpuList(missing)} does not exist on this host (it has ${phys.nrCpus}: ${formatCpuList(Array.from({ length: phys.nrCpus }, (_, i) => i))})`,
        });
      }
    } else if (placement && placement.length > 0) {
      cpus = placement.filter((c) => c < phys.nrCpus);
    }
    return Array.from({ length: maxVcpus }, () => [...cpus]);
  }

  /**
   * Starts a guest from a checked config: plugins' domainPreCreate (ballooning, defaults), the
   * memory check, a new domid, the driver. Nothing is left behind if any step refuses.
   */
  private launch(config: FullConfig, options: { managed: boolean; paused: boolean; restartCount: number; previousRestartTime?: number; replacing?: Active; incoming?: boolean }): Promise<Active> {
    this.checkUnique(config, { allowManagedUuid: options.managed, replacing: options.replacing, incoming: options.incoming });
    this.claimed.add(config.name);
    return this.resources(async () => {
      try {
        const phys = await this.physInfo();
        const needKiB = config.memory * 1024;
        const totalKiB = this.host.memory(phys, 0).totalKiB;
        if (needKiB > totalKiB) {
          throw new XvmError("NO_MEMORY", { detail: `Domain '${config.name}' needs ${config.memory} MiB, more than this host's ${mib(totalKiB)} MiB of memory.` });
        }
        const request: DomainCreateRequest = { config, needKiB };
        await this.fireHook("domainPreCreate", request);
        const final = this.prepare(request.config);
        final.uuid = config.uuid;
        final.name = config.name;
        this.assignMacs(final);
        const available = this.host.available(phys, this.guestsKiB());
        if (final.memory * 1024 > available) {
          const m = this.host.memory(phys, this.guestsKiB());
          throw new XvmError("NO_MEMORY", {
            detail: `Not enough memory for domain '${final.name}': it needs ${final.memory * 1024} KiB, but only ${available} KiB are available (${m.totalKiB} KiB total, ${m.guestsKiB} KiB held by guests, ${m.dom0KiB} KiB by Domain-0).`,
          });
        }
        const affinity = this.affinityFor(final, request.placement, phys);
        const domid = this.allocateDomid();
        const rec: Active = {
          domid, config: final, managed: options.managed, startTime: this.now() / 1000, restartCount: options.restartCount,
          previousRestartTime: options.previousRestartTime, targetKiB: final.memory * 1024, lost: false, dying: false,
          stopHandled: false, watchers: new Set(),
        };
        const spec: GuestSpec = {
          domid, name: final.name, uuid: final.uuid, memoryKiB: final.memory * 1024, maxMemKiB: (final.maxmem ?? final.memory) * 1024,
          vcpus: final.vcpus, maxVcpus: final.maxvcpus ?? final.vcpus, kernel: final.kernel, extra: final.extra ?? "",
          affinity, paused: options.paused, meta: this.metaOf(rec) as unknown as Record<string, unknown>,
        };
        // Events of the new guest wait in its queue until it is registered.
        return await this.queue(domid, async () => {
          const info = await this.driver.create(spec);
          rec.info = info;
          rec.startTime = info.startTime || rec.startTime;
          if (options.replacing) this.forget(options.replacing, `the domain restarted as domain ${domid}`);
          this.active.set(domid, rec);
          if (options.managed) {
            this.managed.set(final.uuid, final);
            this.saveManaged(final);
          }
          this.log.info(`Domain ${final.name} (${domid}) created: ${final.memory} MiB, ${final.vcpus} vCPU(s), kernel ${final.kernel}${options.paused ? ", paused" : ""}`);
          this.dmesgLine(`(XEN) Domain ${domid} (${final.name}) created: ${final.memory} MiB, ${final.vcpus} vCPU(s)`);
          return rec;
        });
      } finally {
        this.claimed.delete(config.name);
      }
    }).then(async (rec) => {
      await this.fireQuietly("domainCreated", await this.summaryOf(rec));
      return rec;
    });
  }

  private metaOf(rec: Active): GuestMeta {
    const meta: GuestMeta = { xvm: 1, config: rec.config, managed: rec.managed, startTime: rec.startTime, restartCount: rec.restartCount };
    if (rec.previousRestartTime !== undefined) meta.previousRestartTime = rec.previousRestartTime;
    return meta;
  }

  private saveManaged(config: FullConfig): void {
    this.store.save(config);
  }

  private async updateConfig(rec: Active, change: Partial<DomainConfig>): Promise<void> {
    rec.config = { ...rec.config, ...change };
    if (!rec.lost) await this.driver.setMeta(rec.domid, rec.config.name, this.metaOf(rec) as unknown as Record<string, unknown>);
    if (rec.managed) {
      this.managed.set(rec.config.uuid, rec.config);
      this.saveManaged(rec.config);
    }
  }

  // ---- lookups and summaries -----------------------------------------------------------------

  private activeByUuid(uuid: string): Active | undefined {
    for (const rec of this.active.values()) if (rec.config.uuid === uuid) return rec;
    return undefined;
  }

  /** Resolves a reference as xend did: name (running, then managed), domid, then uuid. */
  private resolve(dom: string | number): { kind: "dom0" } | { kind: "active"; rec: Active } | { kind: "inactive"; config: FullConfig } {
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

  private async summaryOf(rec: Active): Promise<DomainSummary> {
    let info = rec.info;
    if (!rec.lost && !rec.dying) {
      try {
        info = await this.driver.info(rec.domid);
        rec.info = info;
        rec.targetKiB = info.targetKiB;
      } catch {
        // the runner cannot answer (gone, stuck): report what was last known
      }
    }
    const online = info ? info.vcpus.filter((v) => v.online).length : rec.config.vcpus;
    const flags: DomainStateFlags = rec.destroyed
      ? { ...NO_FLAGS, crashed: rec.stopReason === "crashed", dying: true }
      : info && !rec.lost
      ? { running: info.running, blocked: info.blocked, paused: info.paused, shutdown: info.shutdown, crashed: info.crashed, dying: info.dying || rec.dying }
      : { ...NO_FLAGS, crashed: rec.lost, dying: rec.dying };
    const summary: DomainSummary = {
      domid: rec.domid,
      name: rec.config.name,
      uuid: rec.config.uuid,
      memory: rec.lost ? 0 : mib(info?.targetKiB ?? rec.targetKiB),
      maxmem: mib(info?.maxMemKiB ?? (rec.config.maxmem ?? rec.config.memory) * 1024),
      vcpus: online || rec.config.vcpus,
      maxvcpus: info?.maxVcpus ?? rec.config.maxvcpus ?? rec.config.vcpus,
      state: stateString(flags),
      flags,
      cpuTime: (info?.cpuTimeNs ?? 0) / 1e9,
      startTime: rec.startTime,
      managed: rec.managed,
      config: structuredClone(rec.config),
      vcpuInfo: info?.vcpus ?? [],
      restartCount: rec.restartCount,
    };
    if (info?.pid !== undefined && !rec.lost) summary.pid = info.pid;
    if (rec.stopHandled && rec.stopReason) summary.shutdownReason = info?.shutdownReason ?? (rec.lost ? "crash" : rec.stopReason);
    return summary;
  }

  private inactiveSummary(config: FullConfig): DomainSummary {
    return {
      domid: null, name: config.name, uuid: config.uuid, memory: config.memory, maxmem: config.maxmem ?? config.memory,
      vcpus: config.vcpus, maxvcpus: config.maxvcpus ?? config.vcpus, state: stateString(NO_FLAGS), flags: { ...NO_FLAGS },
      cpuTime: 0, startTime: 0, managed: true, config: structuredClone(config), vcpuInfo: [], restartCount: 0,
    };
  }

  private async dom0Summary(): Promise<DomainSummary> {
    const phys = await this.physInfo();
    const m = this.host.memory(phys, this.guestsKiB());
    const vcpus = this.host.dom0Vcpus(phys);
    const flags = { ...NO_FLAGS, running: true };
    return {
      domid: 0, name: DOM0_NAME, uuid: DOM0_UUID, memory: mib(m.dom0KiB), maxmem: mib(m.totalKiB), vcpus: vcpus.length, maxvcpus: phys.nrCpus,
      state: stateString(flags), flags, cpuTime: vcpus.reduce((s, v) => s + v.cpuTimeNs, 0) / 1e9 || cpuBusyNs().reduce((a, b) => a + b, 0) / 1e9,
      startTime: hostBootTime(), managed: false,
      config: {
        name: DOM0_NAME, uuid: DOM0_UUID, memory: mib(m.dom0KiB), maxmem: mib(m.totalKiB), vcpus: vcpus.length, maxvcpus: phys.nrCpus, kernel: "",
        on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [],
      },
      vcpuInfo: vcpus, pid: process.pid, restartCount: 0,
    };
  }

  // ---- DomainManager -------------------------------------------------------------------------

  async list(): Promise<DomainSummary[]> {
    const out = [await this.dom0Summary(), ...(await Promise.all([...this.active.values()].map((r) => this.summaryOf(r))))];
    for (const c of this.managed.values()) if (!this.activeByUuid(c.uuid)) out.push(this.inactiveSummary(c));
    // xend listed domains sorted by name (XendDomain.list_sorted).
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async get(dom: string | number): Promise<DomainSummary> {
    const found = this.resolve(dom);
    if (found.kind === "dom0") return this.dom0Summary();
    if (found.kind === "inactive") return this.inactiveSummary(found.config);
    return this.summaryOf(found.rec);
  }

  async guest(dom: string | number): Promise<GuestInfo> {
    const rec = this.requireActive(dom, "inspect");
    return this.driver.info(rec.domid);
  }

  /** The running domain `dom` names, or a clear error (Domain-0, inactive, unknown). */
  private requireActive(dom: string | number, action: string): Active {
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action, dom: 0 });
    if (found.kind === "inactive") throw new XvmError("DOMAIN_BAD_STATE", { dom: found.config.name, state: "not running", action });
    return found.rec;
  }

  /**
   * Runs `op` in the domain's queue once it is its turn. A domain replaced meanwhile (restarted
   * under a new id) is looked up again, so `xm pause web1` during a restart pauses the new web1.
   */
  private withDomain<T>(dom: string | number, action: string, op: (rec: Active) => Promise<T>, retried = false): Promise<T> {
    const rec = this.requireActive(dom, action);
    return this.queue(rec.domid, async () => {
      if (this.active.get(rec.domid) === rec && !rec.destroyed) return op(rec);
      // A domain id names one incarnation: once it is gone, so is the domain it named.
      if (retried || typeof dom === "number" || /^\d+$/.test(String(dom).trim())) throw new XvmError("DOMAIN_NOT_FOUND", { dom: String(dom) });
      return this.withDomain(dom, action, op, true);
    });
  }

  private async requireLive(rec: Active, action: string, allowPaused = true): Promise<GuestInfo> {
    if (rec.lost) throw new XvmError("DOMAIN_BAD_STATE", { dom: rec.config.name, state: "crashed (its runner is gone)", action });
    const info = await this.driver.info(rec.domid);
    rec.info = info;
    const flags = { running: info.running, blocked: info.blocked, paused: info.paused, shutdown: info.shutdown, crashed: info.crashed, dying: info.dying || rec.dying };
    if (flags.shutdown || flags.crashed || flags.dying || (!allowPaused && flags.paused)) {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: rec.config.name, state: stateWord(flags, true), action });
    }
    return info;
  }

  async create(config: DomainConfig, options: { paused?: boolean; incoming?: boolean } = {}): Promise<DomainSummary> {
    const full = this.prepare(config);
    // A domain migrating in is never managed here, and never takes the uuid of one that is (checkUnique).
    const rec = await this.launch(full, { managed: false, paused: options.paused ?? false, restartCount: 0, incoming: options.incoming });
    return this.summaryOf(rec);
  }

  async notifyMigrated(dom: string | number, direction: "in" | "out", peer: string): Promise<void> {
    const summary = await this.get(dom);
    if (direction === "in") await this.fireQuietly("domainMigratedIn", summary, peer);
    else await this.fireQuietly("domainMigratedOut", summary, peer);
  }

  async define(config: DomainConfig): Promise<DomainSummary> {
    const full = this.prepare(config);
    return this.resources(async () => {
      // Same name and uuid as a managed domain (or no uuid given): `xm new` again replaces its config.
      let existing: FullConfig | undefined;
      for (const c of this.managed.values()) if (c.name === full.name) existing = c;
      if (existing && (config.uuid === undefined || config.uuid.toLowerCase() === existing.uuid)) full.uuid = existing.uuid;
      for (const rec of this.active.values()) {
        if (rec.config.name === full.name && rec.config.uuid !== full.uuid) throw new XvmError("DOMAIN_EXISTS", { name: full.name, domid: rec.domid });
        if (rec.config.uuid === full.uuid && !rec.managed) throw new XvmError("DOMAIN_UUID_TAKEN", { uuid: full.uuid, name: rec.config.name });
      }
      if (full.name === DOM0_NAME) throw new XvmError("DOMAIN_EXISTS", { name: full.name, domid: 0 });
      for (const c of this.managed.values()) {
        if (c.uuid === full.uuid) continue;
        if (c.name === full.name) throw new XvmError("DOMAIN_NAME_TAKEN", { name: c.name, uuid: c.uuid });
      }
      this.assignMacs(full);
      this.managed.set(full.uuid, full);
      this.saveManaged(full);
      this.log.info(`Domain ${full.name} (${full.uuid}) ${existing ? "config replaced" : "defined"} (managed)`);
      const running = this.activeByUuid(full.uuid);
      return running ? this.summaryOf(running) : this.inactiveSummary(full);
    });
  }

  async start(dom: string | number, options: { paused?: boolean } = {}): Promise<DomainSummary> {
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_BAD_STATE", { dom: DOM0_NAME, state: "running", action: "start" });
    if (found.kind === "active") {
      throw new XvmError("DOMAIN_BAD_STATE", { dom: found.rec.config.name, state: found.rec.managed ? "already running" : "running and not managed", action: "start" });
    }
    const rec = await this.launch(structuredClone(found.config), { managed: true, paused: options.paused ?? false, restartCount: 0 });
    return this.summaryOf(rec);
  }

  async undefine(dom: string | number): Promise<void> {
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "delete", dom: 0 });
    if (found.kind === "active") {
      const rec = found.rec;
      throw new XvmError("DOMAIN_BAD_STATE", {
        dom: rec.config.name, state: rec.managed ? "running (destroy or shut it down first)" : "not managed by xend", action: "delete",
      });
    }
    await this.resources(async () => {
      this.managed.delete(found.config.uuid);
      this.store.remove(found.config.uuid);
    });
    this.log.info(`Domain ${found.config.name} (${found.config.uuid}) deleted from xend's management`);
  }

  async destroy(dom: string | number): Promise<void> {
    await this.withDomain(dom, "destroy", (rec) => this.destroyRecord(rec));
  }

  async pause(dom: string | number): Promise<void> {
    await this.withDomain(dom, "pause", async (rec) => {
      const info = await this.requireLive(rec, "pause");
      if (info.paused) throw new XvmError("DOMAIN_BAD_STATE", { dom: rec.config.name, state: "already paused", action: "pause" });
      await this.driver.pause(rec.domid);
      this.log.info(`Domain ${rec.config.name} (${rec.domid}) paused`);
    });
  }

  async unpause(dom: string | number): Promise<void> {
    await this.withDomain(dom, "unpause", async (rec) => {
      const info = await this.requireLive(rec, "unpause");
      if (!info.paused) throw new XvmError("DOMAIN_BAD_STATE", { dom: rec.config.name, state: "not paused", action: "unpause" });
      await this.driver.unpause(rec.domid);
      this.log.info(`Domain ${rec.config.name} (${rec.domid}) unpaused`);
    });
  }

  async shutdown(dom: string | number, reason: "poweroff" | "halt" | "reboot" | "suspend"): Promise<void> {
    const action = reason === "reboot" ? "reboot" : reason === "suspend" ? "suspend" : "shut down";
    await this.withDomain(dom, action, async (rec) => {
      // A paused guest cannot act on the request; say so rather than wait forever.
      await this.requireLive(rec, action, false);
      await this.driver.requestShutdown(rec.domid, reason);
      this.log.info(`Domain ${rec.config.name} (${rec.domid}): ${reason} requested`);
    });
  }

  async rename(dom: string | number, newName: string): Promise<void> {
    const problem = nameProblem(newName);
    if (problem) throw new XvmError("DOMAIN_CONFIG", { detail: `name '${newName}' ${problem}` });
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "rename", dom: 0 });
    const uuid = found.kind === "active" ? found.rec.config.uuid : found.config.uuid;
    const oldName = found.kind === "active" ? found.rec.config.name : found.config.name;
    if (oldName === newName) return;
    for (const rec of this.active.values()) if (rec.config.name === newName) throw new XvmError("DOMAIN_EXISTS", { name: newName, domid: rec.domid });
    for (const c of this.managed.values()) if (c.name === newName && c.uuid !== uuid) throw new XvmError("DOMAIN_NAME_TAKEN", { name: newName, uuid: c.uuid });
    if (this.claimed.has(newName) || newName === DOM0_NAME) throw new XvmError("DOMAIN_EXISTS", { name: newName, domid: newName === DOM0_NAME ? 0 : "(being created)" });
    if (found.kind === "active") {
      await this.withDomain(found.rec.domid, "rename", (rec) => this.updateConfig(rec, { name: newName }));
    } else {
      const config = { ...found.config, name: newName };
      this.managed.set(uuid, config);
      this.saveManaged(config);
    }
    this.log.info(`Domain ${oldName} renamed to ${newName}`);
  }

  async setMemoryTarget(dom: string | number, target: number): Promise<void> {
    if (!Number.isInteger(target) || target < 1) throw new XvmError("DOMAIN_CONFIG", { detail: `Invalid memory size: ${target} MiB (a whole number of MiB, at least 1)` });
    const found = this.resolve(dom);
    if (found.kind === "dom0") {
      await this.resources(async () => {
        const phys = await this.physInfo();
        const left = mib(Math.max(0, this.host.memory(phys, this.guestsKiB()).totalKiB - this.guestsKiB()));
        if (target > left) {
          throw new XvmError("NO_MEMORY", { detail: `Domain-0 cannot have ${target} MiB: guests hold all but ${left} MiB of the host's memory.` });
        }
        await this.fireHook("domainPreMemoryChange", await this.dom0Summary(), target);
        this.host.set({ dom0MemoryKiB: target * 1024 });
        this.log.info(`Domain-0 memory target set to ${target} MiB`);
      });
      await this.fireQuietly("domainMemoryChanged", await this.dom0Summary(), target);
      return;
    }
    if (found.kind === "inactive") {
      await this.changeInactive(found.config, "set memory of", (c) => {
        const maxmem = c.maxmem ?? c.memory;
        if (target > maxmem) throw new XvmError("DOMAIN_CONFIG", { detail: `memory target ${target} MiB is above the maximum ${maxmem} MiB of domain '${c.name}' (raise it with xm mem-max)` });
        return { memory: target };
      });
      return;
    }
    // The domain's queue first, then the resources queue: the order every other path takes (a crash
    // handler restarting a domain holds its queue and then needs the resources queue).
    const summary = await this.queue(found.rec.domid, () => this.resources(async () => {
      const rec = found.rec;
      if (this.active.get(rec.domid) !== rec) throw new XvmError("DOMAIN_NOT_FOUND", { dom: String(dom) });
      const info = await this.requireLive(rec, "set memory of");
      const maxmem = mib(info.maxMemKiB);
      if (target > maxmem) throw new XvmError("DOMAIN_CONFIG", { detail: `memory target ${target} MiB is above the maximum ${maxmem} MiB of domain '${rec.config.name}' (raise it with xm mem-max)` });
      const current = info.targetKiB;
      await this.fireHook("domainPreMemoryChange", await this.summaryOf(rec), target);
      if (target * 1024 > current) {
        const phys = await this.physInfo();
        const available = this.host.available(phys, this.guestsKiB());
        if (target * 1024 - current > available) {
          throw new XvmError("NO_MEMORY", { detail: `Not enough memory to grow domain '${rec.config.name}' to ${target} MiB: it needs ${target * 1024 - current} KiB more, only ${available} KiB are available.` });
        }
      }
      await this.driver.setMemoryTarget(rec.domid, target * 1024);
      rec.targetKiB = target * 1024;
      await this.updateConfig(rec, { memory: target });
      this.log.info(`Domain ${rec.config.name} (${rec.domid}) memory target set to ${target} MiB`);
      return this.summaryOf(rec);
    }));
    await this.fireQuietly("domainMemoryChanged", summary, target);
  }

  async setMaxMemory(dom: string | number, maxmem: number): Promise<void> {
    if (!Number.isInteger(maxmem) || maxmem < 1) throw new XvmError("DOMAIN_CONFIG", { detail: `Invalid maximum memory: ${maxmem} MiB (a whole number of MiB, at least 1)` });
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "set the maximum memory of", dom: 0 });
    if (found.kind === "inactive") {
      await this.changeInactive(found.config, "set maximum memory of", (c) => {
        if (maxmem < c.memory) throw new XvmError("DOMAIN_CONFIG", { detail: `maximum ${maxmem} MiB is below the memory of domain '${c.name}' (${c.memory} MiB)` });
        return { maxmem };
      });
      return;
    }
    await this.withDomain(found.rec.domid, "set maximum memory of", async (rec) => {
      const info = await this.requireLive(rec, "set maximum memory of");
      if (maxmem * 1024 < info.targetKiB) {
        throw new XvmError("DOMAIN_CONFIG", { detail: `maximum ${maxmem} MiB is below the current memory of domain '${rec.config.name}' (${mib(info.targetKiB)} MiB); lower it first with xm mem-set` });
      }
      await this.driver.setMaxMemory(rec.domid, maxmem * 1024);
      await this.updateConfig(rec, { maxmem });
      this.log.info(`Domain ${rec.config.name} (${rec.domid}) maximum memory set to ${maxmem} MiB`);
    });
  }

  async setVcpus(dom: string | number, count: number): Promise<void> {
    const found = this.resolve(dom);
    if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "set the vCPUs of (config/dom0-cpus decides them)", dom: 0 });
    const check = (name: string, max: number) => {
      if (!Number.isInteger(count) || count < 1 || count > max) {
        throw new XvmError("NO_VCPUS", { detail: `Domain '${name}' can have 1 to ${max} vCPUs (maxvcpus), not ${count}.` });
      }
    };
    if (found.kind === "inactive") {
      await this.changeInactive(found.config, "set the vCPUs of", (c) => {
        check(c.name, c.maxvcpus ?? c.vcpus);
        return { vcpus: count };
      });
      return;
    }
    await this.withDomain(found.rec.domid, "set the vCPUs of", async (rec) => {
      const info = await this.requireLive(rec, "set the vCPUs of");
      check(rec.config.name, info.maxVcpus);
      await this.driver.setVcpus(rec.domid, count);
      await this.updateConfig(rec, { vcpus: count });
      this.log.info(`Domain ${rec.config.name} (${rec.domid}) now has ${count} vCPU(s)`);
    });
  }

  async pinVcpu(dom: string | number, vcpu: number | "all", cpus: number[] | "all"): Promise<void> {
    await this.withDomain(dom, "pin the vCPUs of", async (rec) => {
      const info = await this.requireLive(rec, "pin the vCPUs of");
      const phys = await this.physInfo();
      const list = cpus === "all" ? [] : [...new Set(cpus)].sort((a, b) => a - b);
      if (cpus !== "all") {
        if (list.length === 0) throw new XvmError("DOMAIN_CONFIG", { detail: "the CPU list is empty" });
        const missing = list.filter((c) => !Number.isInteger(c) || c < 0 || c >= phys.nrCpus);
        if (missing.length) throw new XvmError("DOMAIN_CONFIG", { detail: `CPU ${missing.join(",")} does not exist on this host (it has ${phys.nrCpus})` });
      }
      const vcpus = vcpu === "all" ? Array.from({ length: info.maxVcpus }, (_, i) => i) : [vcpu];
      for (const v of vcpus) {
        if (!Number.isInteger(v) || v < 0 || v >= info.maxVcpus) {
          throw new XvmError("DOMAIN_CONFIG", { detail: `Domain '${rec.config.name}' has no vCPU ${v} (it has ${info.maxVcpus}: 0-${info.maxVcpus - 1})` });
        }
      }
      for (const v of vcpus) await this.driver.pinVcpu(rec.domid, v, list);
      this.log.info(`Domain ${rec.config.name} (${rec.domid}) vCPU ${vcpu} pinned to ${cpus === "all" ? "any CPU" : formatCpuList(list)}`);
    });
  }

  async sysrq(dom: string | number, key: string): Promise<void> {
    if (typeof key !== "string" || key.length !== 1) throw new XvmError("DOMAIN_CONFIG", { detail: `a sysrq key is one letter (e.g. c to crash, b to reboot), not '${key}'` });
    await this.withDomain(dom, "send a sysrq to", async (rec) => {
      await this.requireLive(rec, "send a sysrq to", false);
      this.dmesgLine(`(XEN) sysrq '${key}' sent to domain ${rec.domid}`);
      // The simulated kernel acts on the keys that change its life; others are only recorded.
      if (key === "c") await this.driver.crash(rec.domid);
      else if (key === "b") await this.driver.requestShutdown(rec.domid, "reboot");
      else if (key === "o") await this.driver.requestShutdown(rec.domid, "poweroff");
      this.log.info(`Domain ${rec.config.name} (${rec.domid}): sysrq ${key}`);
    });
  }

  async trigger(dom: string | number, trigger: DomainTrigger, vcpu = 0): Promise<void> {
    if (trigger === "init" || trigger === "sleep") {
      throw new XvmError("XVM_NOT_IMPLEMENTED", { what: `trigger ${trigger} (an HVM trigger) on the ${this.driver.name} hypervisor` });
    }
    await this.withDomain(dom, `send ${trigger} to`, async (rec) => {
      const info = await this.requireLive(rec, `send ${trigger} to`, trigger !== "nmi");
      if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= info.maxVcpus) {
        throw new XvmError("DOMAIN_CONFIG", { detail: `Domain '${rec.config.name}' has no vCPU ${vcpu}` });
      }
      this.dmesgLine(`(XEN) trigger ${trigger} sent to domain ${rec.domid} vCPU ${vcpu}`);
      if (trigger === "nmi") {
        // The simulated kernel treats an NMI as fatal (panic_on_unrecovered_nmi), which is what
        // administrators send one for: a crash dump of a hung guest.
        await this.driver.crash(rec.domid);
      } else if (trigger === "power") {
        await this.driver.requestShutdown(rec.domid, "poweroff");
      } else {
        // reset: a hard reset, whatever on_reboot says and without the restart-loop guard.
        rec.stopHandled = true;
        rec.stopReason = "reset";
        await this.restartRecord(rec, false, false);
      }
    });
  }

  async consoleRead(dom: string | number): Promise<string> {
    const rec = this.requireActive(dom, "read the console of");
    if (rec.lost) return "";
    return this.driver.consoleRead(rec.domid);
  }

  async consoleWrite(dom: string | number, data: string): Promise<void> {
    const rec = this.requireActive(dom, "write to the console of");
    await this.requireLive(rec, "write to the console of");
    await this.driver.consoleWrite(rec.domid, data);
  }

  async watchConsole(dom: string | number): Promise<ConsoleWatch> {
    const rec = this.requireActive(dom, "attach to the console of");
    const dataListeners: ((data: string) => void)[] = [];
    const endListeners: ((reason: string) => void)[] = [];
    let ended: string | undefined;
    const sub: ConsoleSubscriber = {
      data: (text) => dataListeners.forEach((l) => l(text)),
      end: (reason) => {
        if (ended !== undefined) return;
        ended = reason;
        endListeners.forEach((l) => l(reason));
      },
    };
    rec.watchers.add(sub);
    if (this.active.get(rec.domid) !== rec) sub.end("the domain was destroyed");
    return {
      onData: (l) => void dataListeners.push(l),
      onEnd: (l) => {
        endListeners.push(l);
        if (ended !== undefined) l(ended);
      },
      close: () => rec.watchers.delete(sub),
    };
  }

  setHostResources(update: HostResources): void {
    this.host.set(update);
  }

  async nodeInfo(): Promise<NodeInfo> {
    // Host figures that can change (uname) are read again; memory comes from the accounting.
    const phys = await this.physInfo();
    return nodeInfo(phys, this.host.memory(phys, this.guestsKiB()));
  }

  dmesg(clear = false): string {
    const text = this.ring;
    if (clear) this.ring = "";
    return text;
  }

  private dmesgLine(line: string): void {
    this.ring += `${line}\n`;
    if (this.ring.length > DMESG_LIMIT) this.ring = this.ring.slice(this.ring.indexOf("\n", this.ring.length - DMESG_LIMIT) + 1);
  }

  /** Changes a stored config of an inactive managed domain. */
  private async changeInactive(config: FullConfig, action: string, change: (c: FullConfig) => Partial<DomainConfig>): Promise<void> {
    await this.resources(async () => {
      const current = this.managed.get(config.uuid);
      if (!current || this.activeByUuid(config.uuid)) throw new XvmError("DOMAIN_BAD_STATE", { dom: config.name, state: "changing", action });
      const next = { ...current, ...change(current) } as FullConfig;
      const problems = checkDomainConfig(next);
      if (problems.length) throw new XvmError("DOMAIN_CONFIG", { detail: problems.map((p) => `${p.field} ${p.message}`).join("; ") });
      this.managed.set(next.uuid, next);
      this.saveManaged(next);
    });
  }

  /** Domain-0's vCPUs as `xm vcpu-list 0` shows them (for plugins and routes). */
  async dom0Vcpus(): Promise<VcpuInfo[]> {
    return this.host.dom0Vcpus(await this.physInfo());
  }
}

export function createDomainManager(options: DomainManagerOptions): DomainManagerHandle {
  return new Manager(options);
}
