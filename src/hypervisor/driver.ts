/**
 * The hypervisor driver interface. The embedded default is the simulated hypervisor (`sim`); a real
 * driver (QEMU/KVM, Xen) implements the same interface. Nothing here is specific to the simulator:
 * data-heavy work (core dumps, migration streams) is a driver operation, as QEMU's
 * `dump-guest-memory` and `migrate` are, so a driver can do it next to the guest's memory.
 */
import type { VcpuState } from "../formats/vcpu-state.ts";

export const PAGE_SIZE = 4096;

export interface PhysInfo {
  hostname: string;
  /** Kernel release/version and machine as uname reports them. */
  release: string;
  version: string;
  machine: string;
  nrCpus: number;
  nrNodes: number;
  coresPerSocket: number;
  threadsPerCore: number;
  socketsPerNode: number;
  cpuMhz: number;
  totalMemoryKiB: number;
  /** Memory not held by any guest (Domain-0's share is accounted by the domain manager). */
  freeMemoryKiB: number;
  pageSize: number;
  hypervisor: { name: string; major: number; minor: number; extra: string; caps: string[] };
}

/**
 * Credit scheduler parameters of a guest, as Xen's credit scheduler had them (`xm sched-credit`,
 * config `cpu_weight` / `cpu_cap`): `weight` 1..65535 is the guest's share when guests compete for
 * CPUs (512 gets twice the CPU of 256); `cap` is the most CPU the guest may use, in percent of one
 * physical CPU (50 = half a CPU, 200 = two CPUs), 0 = no cap. The qemu driver maps them onto the
 * guest's cgroup (src/hypervisor/qemu/cgroup.ts): v2's `cpu.weight` (256 -> 100) and `cpu.max`
 * (`<cap * period / 100> <period>`), or v1's `cpu.shares` and CFS quota on hosts without v2's cpu.
 */
export interface SchedParams {
  weight: number;
  cap: number;
}

export const SCHED_DEFAULTS: Readonly<SchedParams> = { weight: 256, cap: 0 };

/**
 * A virtual block device as a driver sees it (from a config's `disk` entry, domain/disks.ts):
 * the host file or device behind it, the front-end name and Xen's device number, and the mode
 * (`r` = the guest may not write; `w`, `w!` = read-write).
 */
export interface GuestDisk {
  /** Xen's device number of the front end (xvda = 51712), the device's id for detach. */
  devid: number;
  /** Front-end name as the config wrote it (`xvda`, `hdc`). */
  vdev: string;
  /** Backing type (`file`, `phy`, `tap:aio`). */
  type: string;
  /** Absolute host path of the backing file or device. */
  path: string;
  mode: string;
}

/** A virtual network interface as a driver sees it (a config's `vif` entry, with its MAC assigned). */
export interface GuestVif {
  /** Index in the domain's vif list (xm network-list's Idx), the id for detach. */
  index: number;
  mac: string;
  bridge?: string;
  /** Host-side interface name (`vifname=`); default `vif<domid>.<index>`. */
  vifname?: string;
}

/** What a driver needs to start a guest. Units are explicit in the names. */
export interface GuestSpec {
  domid: number;
  name: string;
  uuid: string;
  memoryKiB: number;
  maxMemKiB: number;
  vcpus: number;
  maxVcpus: number;
  /** Guest program. The simulator knows `sim:idle`, `sim:counter`, `sim:memwriter`, `sim:busy`, `sim:disk`. */
  kernel: string;
  /** Kernel command line (`extra`), e.g. `rate=64M wss=256M` for sim:memwriter. */
  extra: string;
  /** Per-vCPU allowed physical CPUs; empty array = any. */
  affinity: number[][];
  /** Start with all vCPUs paused. */
  paused: boolean;
  /**
   * The guest arrives by migration (prepareIncoming follows): a driver may set the guest up to
   * receive from the start (QEMU: `-incoming defer`) instead of booting it.
   */
  incoming?: boolean;
  /** Credit scheduler parameters (default {@link SCHED_DEFAULTS}). */
  sched?: SchedParams;
  /** Virtual block devices, in config order (the domain manager checked that each backing exists). */
  disks?: GuestDisk[];
  /** Virtual network interfaces, in config order. */
  vifs?: GuestVif[];
  /** Opaque config the domain manager wants kept with the guest (name/uuid/config survive xend restarts). */
  meta: Record<string, unknown>;
}

export interface VcpuInfo {
  number: number;
  online: boolean;
  running: boolean;
  blocked: boolean;
  /** Real CPU time consumed by this vCPU, nanoseconds. */
  cpuTimeNs: number;
  /** Physical CPU it last ran on. */
  cpu: number;
  affinity: number[];
}

export type { VcpuState } from "../formats/vcpu-state.ts";

/** A virtual disk's request counters, where a driver counts them (xm top's VBD_RD / VBD_WR). */
export interface VbdStats {
  devid: number;
  readRequests: number;
  writeRequests: number;
  sectorsRead: number;
  sectorsWritten: number;
}

export type ShutdownReason = "poweroff" | "reboot" | "halt" | "suspend" | "crash";

export interface GuestInfo {
  domid: number;
  name: string;
  uuid: string;
  running: boolean;
  blocked: boolean;
  paused: boolean;
  shutdown: boolean;
  crashed: boolean;
  dying: boolean;
  shutdownReason?: ShutdownReason;
  memoryKiB: number;
  maxMemKiB: number;
  targetKiB: number;
  vcpus: VcpuInfo[];
  maxVcpus: number;
  cpuTimeNs: number;
  /** Process (or other host object) backing the guest, when there is one. */
  pid?: number;
  /** Epoch seconds. */
  startTime: number;
  /** Credit scheduler parameters in force, for a driver that schedules (see {@link SchedParams}). */
  sched?: SchedParams;
  /** Request counters of the guest's disks, for a driver that counts them (sim: its block devices). */
  vbdStats?: VbdStats[];
  /**
   * The guest's host object died while no driver was attached (runner killed while xend was
   * down): `list()` reports such a guest once, with its name/uuid/meta, `crashed` set and a `lost`
   * event; after that the driver has forgotten it.
   */
  lost?: boolean;
  meta: Record<string, unknown>;
}

export type GuestEvent =
  | { type: "shutdown"; domid: number; reason: ShutdownReason }
  | { type: "crashed"; domid: number; detail: string }
  /** The guest's host object vanished (runner killed): treated as a crash by the domain manager. */
  | { type: "lost"; domid: number; detail: string }
  | { type: "console"; domid: number; data: string };

export interface DumpOptions {
  /** Do not pause the guest while dumping. */
  live: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** `saveTo`: the guest's state appended to a file xend has begun (src/formats/save-image.ts). */
export interface SaveOptions {
  /** Reports bytes of guest memory written so far, of the total to write. */
  onProgress?: (done: number, total: number) => void;
}

/** What `saveTo` wrote: the payload's format name, length and SHA-256 (hex). */
export interface SavedState {
  format: string;
  bytes: number;
  sha256: string;
}

export interface RestoreOptions {
  /** Where in the file the driver's payload starts, and its length (xend checked the checksum). */
  offset: number;
  bytes: number;
  /** The payload's SHA-256 (hex), from the file's trailer. */
  sha256: string;
  onProgress?: (done: number, total: number) => void;
}

export interface MigrationStats {
  status: "setup" | "active" | "completed" | "failed" | "cancelled";
  totalTimeMs: number;
  downtimeMs: number;
  setupTimeMs: number;
  transferredBytes: number;
  remainingBytes: number;
  totalBytes: number;
  zeroPages: number;
  normalPages: number;
  rounds: number;
  throughputMbps: number;
  dirtyPagesRate: number;
  throttlePercent: number;
  errorDesc?: string;
  /**
   * Epoch milliseconds (fractional) when the guest stopped for the switch-over: the toolstack ends
   * the downtime when the destination confirms the guest runs there.
   */
  stoppedAtEpochMs?: number;
  /** Why pre-copy ended (downtime target met, iteration limit, …): "converged" only for the first. */
  switchover?: string;
  /**
   * Where the toolstack's total time went (relocation): `setup` from the request to the
   * destination's READY (handshake, config, domain creation), `stream` the driver's migration,
   * `confirm` until the destination said the guest runs there.
   */
  phasesMs?: { setup: number; stream: number; confirm: number };
  /** How the stream travelled, where a driver has a choice (QEMU at the source: "handed to QEMU" or "relayed by xend"). */
  streamPath?: string;
  /**
   * The limits in force for this migration as the hypervisor reports them back (QEMU:
   * query-migrate-parameters / query-migrate-capabilities), not as they were asked for.
   */
  limits?: MigrationLimits;
}

export interface MigrationLimits {
  downtimeLimitMs: number;
  /** Bytes per second. */
  maxBandwidth: number;
  autoConverge: boolean;
}

/** Where a destination guest waits for its migration stream, and the secret it expects. */
export interface MigrationEndpoint {
  host: string;
  port: number;
  token: string;
  /**
   * The destination answers the token with one byte (0x01) once it is ready for the stream, and
   * the source sends nothing after the token until then (so the destination can hand the
   * connection itself to its hypervisor, having read exactly the token).
   */
  ack?: boolean;
}

export interface IncomingOptions {
  /** Local address to listen on (the one the source already reached). */
  bindAddress: string;
  /** Only this peer address may connect (the source host as the toolstack saw it). */
  allowFrom?: string;
  /** Give up if the source has not connected / the stream stalls this long (ms). */
  timeoutMs?: number;
  /**
   * The source reports its stream's progress (IncomingMigration.sourceProgress): a driver that
   * does not see the stream itself (QEMU holding the connection) tells a stall by it.
   */
  sourceReportsProgress?: boolean;
}

export interface IncomingMigration {
  endpoint: MigrationEndpoint;
  /** Resolves when memory and vCPU state arrived and were verified (guest still paused); rejects on any failure. */
  verified: Promise<MigrationStats>;
  /** The bytes the source has sent so far, as it reports them (relocation PROGRESS). */
  sourceProgress?(transferredBytes: number): void;
  /** Ends the incoming state; `start` unpauses the guest. */
  commit(start: boolean): Promise<void>;
  /** Gives up (the caller destroys the domain afterwards). */
  abort(reason: string): Promise<void>;
}

/** What a running migration reports (QEMU's query-migrate fields plus progress). */
export interface MigrationProgress extends MigrationStats {
  /** Pre-copy round (1 = the first full pass; the stop-and-copy round is the last). */
  round: number;
  /** Pages known to still need sending in this round or dirtied since. */
  remainingPages: number;
  /** 0..100. */
  percent: number;
  /** Phase: "setup", "precopy", "stop-and-copy", "verifying". */
  phase: string;
  expectedDowntimeMs: number;
}

export interface MigrateOutOptions {
  live: boolean;
  /** Stop-and-copy once the dirty pages left can be sent within this many ms at the measured bandwidth. */
  maxDowntimeMs: number;
  /** Pre-copy rounds after which stop-and-copy happens anyway (xend/libxc: 29). */
  maxIterations?: number;
  /** Stop-and-copy once this many times the guest's memory was sent (libxc: 3). */
  maxFactor?: number;
  /** Throttle the vCPUs when the guest dirties memory faster than the link carries it (default true). */
  autoConverge?: boolean;
  /** Bytes per second on the wire at most; 0 = unlimited. */
  maxBandwidth?: number;
  /**
   * Name and meta to put back should the toolstack go away in the middle (the driver then resumes
   * the guest on its own, so it is never lost).
   */
  restore?: { name: string; meta?: Record<string, unknown> };
  onProgress?: (progress: MigrationProgress) => void;
  signal?: AbortSignal;
}

export interface MemoryDigest {
  pages: number;
  /** Hex SHA-256 of the pages in frame order. */
  sha256: string;
  /** SHA-256 of the pages other than frame 0 (which holds the heartbeat counter of sim guests). */
  sha256Rest: string;
}

export interface HypervisorDriver {
  readonly name: string;
  physInfo(): Promise<PhysInfo>;
  /**
   * Guests that exist now (used to re-attach after a daemon restart). Events that happened while no
   * driver listened (shutdown, crash, a lost runner) are emitted to subscribers right after the
   * returned promise resolves, so adopt the list first and act on the events.
   */
  list(): Promise<GuestInfo[]>;
  create(spec: GuestSpec): Promise<GuestInfo>;
  info(domid: number): Promise<GuestInfo>;
  destroy(domid: number): Promise<void>;
  pause(domid: number): Promise<void>;
  unpause(domid: number): Promise<void>;
  /** Ask the guest to shut down / reboot (it reports back through a `shutdown` event). */
  requestShutdown(domid: number, reason: Exclude<ShutdownReason, "crash">): Promise<void>;
  /** Crash the guest as a kernel panic would. */
  crash(domid: number): Promise<void>;
  setMemoryTarget(domid: number, kib: number): Promise<void>;
  setMaxMemory(domid: number, kib: number): Promise<void>;
  setVcpus(domid: number, count: number): Promise<void>;
  pinVcpu(domid: number, vcpu: number, cpus: number[]): Promise<void>;
  /** Rename / re-tag a guest (the driver keeps name/meta so a re-attach sees them). */
  setMeta(domid: number, name: string, meta: Record<string, unknown>): Promise<void>;
  /** Console output so far (bounded ring). */
  consoleRead(domid: number): Promise<string>;
  consoleWrite(domid: number, data: string): Promise<void>;
  /** Write a core file of the guest at `path` (ELF, Xen dump-core layout). */
  dumpCore(domid: number, path: string, options: DumpOptions): Promise<void>;
  /**
   * Optional: save and restore, QEMU-style (QEMU saves as a migration to a file). `saveTo`
   * appends the state of a paused guest (memory, vCPU registers, what the program needs to go
   * on) to `path`, which xend has created with its header, and leaves the guest paused: xend
   * destroys it, or unpauses it for `xm save -c`. `restoreFrom` starts a guest from `spec`
   * (paused) and loads the state from `path` at `options.offset`; on failure nothing is left
   * behind. A driver without them answers XVM_NOT_IMPLEMENTED through xend.
   */
  saveTo?(domid: number, path: string, options: SaveOptions): Promise<SavedState>;
  restoreFrom?(path: string, spec: GuestSpec, options: RestoreOptions): Promise<GuestInfo>;
  /**
   * Sets a guest's credit scheduler parameters (`xm sched-credit -d`): they take effect at once
   * and stay with the guest (a re-attach sees them). Optional: a driver without it has no
   * scheduler, and sched-credit says so.
   */
  setSchedParams?(domid: number, params: SchedParams): Promise<void>;
  /**
   * Optional: device hot-plug on a running (or paused) guest, as xend's device_create /
   * destroyDevice did (xm block-attach / block-detach / network-attach / network-detach). The
   * domain manager has already checked the device (backing exists, free front-end name, bridge is
   * a link) and changes the domain's config only once the driver call resolved; a driver that
   * leaves them out gets the change in the config alone, in force from the guest's next start.
   * `attachDisk` makes the device usable by the guest before it resolves (sim: the runner has
   * opened the backing, read-only for mode `r`; qemu: blockdev-add + device_add virtio-blk-pci);
   * `detachDisk` resolves once the guest no longer reaches it (its backing is closed). Failing
   * leaves the guest as it was. `attachVif` / `detachVif` do the same for a network interface
   * (qemu: a tap + netdev_add + device_add virtio-net-pci).
   */
  attachDisk?(domid: number, disk: GuestDisk): Promise<void>;
  /** `disk` as the domain's config has it now (its devid names the device). */
  detachDisk?(domid: number, disk: GuestDisk): Promise<void>;
  attachVif?(domid: number, vif: GuestVif): Promise<void>;
  /** `vif` as the domain's config has it now; its MAC (unique per host) names the device, as indexes shift. */
  detachVif?(domid: number, vif: GuestVif): Promise<void>;
  // Only what the core and the built-in plugins call is here. Page, dirty-log, vCPU-register and
  // throttle access are a driver's own methods (SimDriver's, for its tests and benchmarks), not part
  // of the contract: nothing in production called them through it.
  //
  // Optional: live migration between hosts, QEMU-style (`-incoming` + `migrate`), and its check. The
  // relocation plugin calls each of them and answers XVM_NOT_IMPLEMENTED when a driver leaves them
  // out, so a driver without live migration (qemu today) is still a whole driver. The guest's memory
  // goes straight from the source guest's host object to the destination's; the toolstack (xend)
  // only sets it up, watches it and decides its outcome. See docs/relocation-protocol.md.
  /**
   * Destination side: makes a freshly created, paused guest wait for its memory and vCPU state on
   * a listening endpoint. Resolves once it listens.
   */
  prepareIncoming?(domid: number, options: IncomingOptions): Promise<IncomingMigration>;
  /**
   * Source side: sends the guest's memory and vCPU state to a destination prepared with
   * {@link prepareIncoming}. Resolves once the destination has verified everything, with the guest
   * paused here (stop-and-copy); the caller then calls {@link finishMigrateOut}. On failure the
   * driver has already resumed the guest as it was, and the promise rejects.
   */
  /**
   * Optional, before migrateOut: sets the migration's limits up while the destination prepares
   * (QEMU: capabilities and parameters), so that migrateOut starts the stream at once. migrateOut
   * with other limits than these sets its own.
   */
  prepareMigrateOut?(domid: number, options: Pick<MigrateOutOptions, "autoConverge" | "maxDowntimeMs" | "maxBandwidth">): void;
  migrateOut?(domid: number, target: MigrationEndpoint, options: MigrateOutOptions): Promise<MigrationStats>;
  /**
   * Ends every outgoing migration, once the caller has settled its side (e.g. the guest's name):
   * after {@link migrateOut} resolved, `committed` (the destination runs the guest; the caller
   * destroys it here next) or not (the guest resumes here as it was); after it rejected, not
   * committed (the guest already runs here). Until then the driver keeps the guest safe on its
   * own should the caller go away (MigrateOutOptions.restore).
   *
   * A driver whose two ends settle the hand-over between themselves (sim: the destination's runner
   * asks the source's for the guest before starting it) answers the outcome in force,
   * `{committed}`: `true` after a `false` request means the destination took the guest over
   * although its toolstack never said so (its xend was killed before DONE), and the caller must
   * destroy this copy rather than report a failure. No answer: the request was done as asked.
   */
  finishMigrateOut?(domid: number, committed: boolean): Promise<void | { committed: boolean }>;
  /**
   * Digest of the guest's whole memory (SHA-256 of every page in order), read with the vCPUs parked:
   * served by the relocation plugin (GET /plugins/relocation/digest/<dom>) so that both ends of a
   * migration can be compared.
   */
  memoryDigest?(domid: number): Promise<MemoryDigest>;
  /**
   * Optional: host memory (KiB) a guest with `maxVcpus` vCPUs costs beyond its own memory (the
   * process that backs it: sim's runner). The domain manager counts it with the guest's memory in
   * the host's accounting: free memory, Domain-0's share, the memory check of a creation.
   */
  guestOverheadKiB?(maxVcpus: number): number;
  /** Guest events (shutdown, crash, lost, console). Returns an unsubscribe function. */
  subscribe(listener: (event: GuestEvent) => void): () => void;
  /** Release resources held by the driver (not the guests). */
  close(): Promise<void>;
}
