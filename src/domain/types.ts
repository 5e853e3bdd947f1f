/**
 * The domain manager as plugins and the control API see it. The implementation lives beside this
 * file; plugins get this interface through their context and nothing else.
 */
import type { GuestInfo, SchedParams, VbdStats, VcpuInfo } from "../hypervisor/driver.ts";

export type DomainAction = "destroy" | "restart" | "preserve" | "rename-restart" | "coredump-destroy" | "coredump-restart";

/** A domain's configuration, as parsed from an xm config file or an SXP `(vm …)`. */
export interface DomainConfig {
  name: string;
  uuid?: string;
  memory: number; // MiB
  maxmem?: number; // MiB
  vcpus: number;
  maxvcpus?: number;
  cpus?: string;
  kernel: string;
  ramdisk?: string;
  extra?: string;
  root?: string;
  on_poweroff: DomainAction;
  on_reboot: DomainAction;
  on_crash: DomainAction;
  /** Managed domains: `start` starts the domain when xend starts (xend's on_xend_start). */
  on_xend_start?: "ignore" | "start";
  /** Kept for round trips; xvm never stops guests when xend stops (they outlive it). */
  on_xend_stop?: "ignore" | "shutdown" | "suspend";
  description?: string;
  vif: VifConfig[];
  disk: string[];
  /** Any other keys, kept so they round-trip. */
  extraKeys?: Record<string, unknown>;
}

export interface VifConfig {
  mac?: string;
  bridge?: string;
  ip?: string;
  script?: string;
  vifname?: string;
  model?: string;
  type?: string;
  backend?: string;
  rate?: string;
  accel?: string;
}

/** Flags in xm's order r b p s c d. */
export interface DomainStateFlags {
  running: boolean;
  blocked: boolean;
  paused: boolean;
  shutdown: boolean;
  crashed: boolean;
  dying: boolean;
}

export interface DomainSummary {
  domid: number | null; // null for an inactive managed domain
  name: string;
  uuid: string;
  memory: number; // MiB, current
  maxmem: number; // MiB
  vcpus: number; // online
  maxvcpus: number;
  state: string; // "r-----"
  flags: DomainStateFlags;
  cpuTime: number; // seconds
  startTime: number; // epoch seconds
  managed: boolean;
  config: DomainConfig;
  vcpuInfo: VcpuInfo[];
  pid?: number;
  /** How many times xend restarted this domain (on_reboot/on_crash restart); `xm reboot -w` waits on it. */
  restartCount?: number;
  /** Why the guest stopped, while it is kept shut down or crashed (preserve). */
  shutdownReason?: string;
  /**
   * The guest did not act on a shutdown or reboot request within this many seconds (xend 3.4's
   * SHUTDOWN_TIMEOUT, `xend/unresponsive`): it still runs.
   */
  unresponsive?: number;
  /** An inactive managed domain whose state `xm suspend` saved (`xm resume` brings it back). */
  suspended?: boolean;
  /** Request counters of its disks, where the driver counts them (xm top). */
  vbdStats?: VbdStats[];
  /**
   * Host memory (KiB) the running guest takes beyond `memory`: its backing process (sim's
   * runner), as the host's accounting counts it. Absent when the driver says nothing.
   */
  overheadKiB?: number;
}

/** `xm info`: the node's fields, in the order xm printed them (xend's node SXP, [3.4]). */
export type NodeInfo = Record<string, string | number>;

/** The console of a domain as `xm console` follows it. */
export interface ConsoleWatch {
  /** Output from the moment of the call on. */
  onData(listener: (data: string) => void): void;
  /** Called once when the domain goes away (destroyed, restarted under a new id). */
  onEnd(listener: (reason: string) => void): void;
  close(): void;
}

export type DomainTrigger = "nmi" | "reset" | "init" | "power" | "sleep";

/** Hook payloads. */
export interface DomainCreateRequest {
  /**
   * The config the domain is created from. `domainPreCreate` hooks may fill in defaults here (the
   * default-nic plugin gives each vif without `bridge=` the default NIC and each vif without `mac=`
   * a unique 00:16:3e MAC); the manager creates the domain from the config as the hooks leave it.
   */
  config: DomainConfig;
  /** KiB the new guest needs; ballooning plugins make room for it or refuse. */
  needKiB: number;
  /**
   * Physical CPUs for the vCPUs of a config without `cpus`: a `domainPreCreate` hook (dom0-cpus)
   * may set it to keep guests off Domain-0's CPUs. Absent or empty: any CPU.
   */
  placement?: number[];
}

/**
 * The host's resources as the host-resource plugins decide them (dom0-min-mem: memory; dom0-cpus:
 * Domain-0's vCPUs). A field left out keeps its value. Until a plugin sets a field the manager uses
 * its own default: the driver's physInfo() total, Domain-0 holding all memory no guest holds, one
 * vCPU per physical CPU.
 */
export interface HostResources {
  /** Memory xend accounts for (`xm info` total_memory), KiB. */
  totalMemoryKiB?: number;
  /**
   * Domain-0's current allocation (`xm list` Mem of Domain-0), KiB. `xm info` free_memory is
   * total − Domain-0 − the memory of every guest that exists.
   */
  dom0MemoryKiB?: number;
  /** Domain-0's online vCPUs, in order: the physical CPU each runs on and the CPUs it may use. */
  dom0Vcpus?: { cpu: number; affinity: number[] }[];
}

export interface DomainManager {
  list(): Promise<DomainSummary[]>;
  /** Looks a domain up by name, domid or uuid. Throws DOMAIN_NOT_FOUND. */
  get(dom: string | number): Promise<DomainSummary>;
  /**
   * `incoming`: the domain arrives by migration (relocation plugin). Like any created domain its
   * name and uuid must be new here (running, kept after a stop, or managed): a migration never
   * replaces nor edits a domain it did not create, and the domain is not managed here.
   */
  create(config: DomainConfig, options?: { paused?: boolean; incoming?: boolean }): Promise<DomainSummary>;
  /** Fires the domainMigratedIn / domainMigratedOut hooks for `dom` (the relocation plugin calls it). */
  notifyMigrated?(dom: string | number, direction: "in" | "out", peer: string): Promise<void>;
  destroy(dom: string | number): Promise<void>;
  pause(dom: string | number): Promise<void>;
  unpause(dom: string | number): Promise<void>;
  shutdown(dom: string | number, reason: "poweroff" | "halt" | "reboot" | "suspend"): Promise<void>;
  rename(dom: string | number, newName: string): Promise<void>;
  setMemoryTarget(dom: string | number, mib: number): Promise<void>;
  setMaxMemory(dom: string | number, mib: number): Promise<void>;
  setVcpus(dom: string | number, count: number): Promise<void>;
  pinVcpu(dom: string | number, vcpu: number | "all", cpus: number[] | "all"): Promise<void>;
  /** Credit scheduler weight and cap (`xm sched-credit`); any domain, Domain-0 and inactive ones included. */
  schedCredit?(dom: string | number): Promise<SchedParams>;
  /**
   * Sets weight (1..65535) and/or cap (0..100 per vCPU); both are checked before anything changes.
   * A running domain's driver enforces them at once. Returns the values in force.
   */
  setSchedCredit?(dom: string | number, change: { weight?: number; cap?: number }): Promise<SchedParams>;
  sysrq(dom: string | number, key: string): Promise<void>;
  /** Managed domains (`xm new` / `start` / `delete`). */
  define(config: DomainConfig): Promise<DomainSummary>;
  start(dom: string | number, options?: { paused?: boolean }): Promise<DomainSummary>;
  undefine(dom: string | number): Promise<void>;
  /** The raw guest info from the driver (for plugins that need the hypervisor's view). */
  guest(dom: string | number): Promise<GuestInfo>;
  /**
   * Sets what Domain-0 and the host show (see {@link HostResources}); synchronous and lock-free so
   * that a hook may call it while a create or mem-set is in progress.
   */
  setHostResources(update: HostResources): void;
  /** The host as `xm info` shows it. */
  nodeInfo(): Promise<NodeInfo>;
  /** Console output of a running domain so far (bounded). */
  consoleRead(dom: string | number): Promise<string>;
  /** Types into a domain's console. */
  consoleWrite(dom: string | number, data: string): Promise<void>;
  /** Follows a domain's console output. */
  watchConsole(dom: string | number): Promise<ConsoleWatch>;
  /** `xm trigger`: nmi (the guest panics), reset (hard reset), power (power button); init/sleep are refused. */
  trigger(dom: string | number, trigger: DomainTrigger, vcpu?: number): Promise<void>;
  /** The hypervisor's message ring (`xm dmesg`); `clear` empties it after reading. */
  dmesg(clear?: boolean): string;
  /** `xm save [-c]`, `xm restore [-p]`, `xm suspend`, `xm resume [-p]` (src/domain/saves.ts). */
  save?(dom: string | number, file: string, options: { checkpoint: boolean; onProgress?: (p: SaveProgress) => void }): Promise<SaveResult>;
  restore?(file: string, options: { paused: boolean; onProgress?: (p: SaveProgress) => void }): Promise<DomainSummary>;
  suspend?(dom: string | number, onProgress?: (p: SaveProgress) => void): Promise<SaveResult>;
  resume?(dom: string | number, options: { paused: boolean; onProgress?: (p: SaveProgress) => void }): Promise<DomainSummary>;
  /** `xm block-attach` / `block-detach` / `network-attach` / `network-detach` (src/domain/devices.ts). */
  blockAttach?(dom: string | number, backdev: string, frontdev: string, mode: string): Promise<void>;
  blockDetach?(dom: string | number, devId: string): Promise<void>;
  networkAttach?(dom: string | number, options: string[]): Promise<VifConfig>;
  networkDetach?(dom: string | number, devId: string): Promise<void>;
  /**
   * on_xend_start / on_xend_stop (src/domain/xend-actions.ts): the start and stop methods of
   * svc:/system/xvm/domains, or the daemon's own steps when no restarter runs it.
   */
  onXendStart?(): Promise<XendStartOutcome[]>;
  onXendStop?(timeoutMs: number): Promise<XendStopOutcome[]>;
}

/** What the domains service's start did to one managed domain. */
export interface XendStartOutcome {
  name: string;
  uuid: string;
  action: "started" | "resumed";
  domid?: number;
  error?: string;
}

export interface XendStopOutcome {
  name: string;
  uuid: string;
  domid: number;
  action: "shutdown" | "suspend" | "ignore";
  /** shutdown: the domain is gone; suspend: its checkpoint is written; ignore: always true. */
  done: boolean;
  error?: string;
}


/** A virtual block device as `xm block-list` shows it. */
export interface VbdInfo {
  /** Xen's device number of the front end (xvda = 51712). */
  devid: number;
  vdev: string;
  /** `file`, `phy`, … and the host path. */
  type: string;
  path: string;
  mode: string;
}

/** Progress of a save or restore: bytes of guest state done, of the total, in a phase. */
export interface SaveProgress {
  phase: "saving" | "verifying" | "loading";
  done: number;
  total: number;
}

/** What `xm save` / `xm suspend` wrote. */
export interface SaveResult {
  file: string;
  bytes: number;
  seconds: number;
  name: string;
  uuid: string;
}

export type { GuestInfo };
