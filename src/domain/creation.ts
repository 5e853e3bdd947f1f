/**
 * How domains come to be and what names them: checking a config, MACs, unique names and uuids, CPU
 * placement, domain ids, starting a guest on the driver (`launch`, also used by restarts), and the
 * managed configs (`xm new` / `start` / `delete`) and renames.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { errorMessage, XvmError } from "../errors.ts";
import { faultPoint } from "../runtime/fault-point.ts";
import type { GuestInfo, GuestSpec, PhysInfo } from "../hypervisor/driver.ts";
import { isSuspended } from "./checkpoint.ts";
import { checkDiskBacking, guestDisk, guestVif } from "./disks.ts";
import { checkVifBridges } from "./vif-bridges.ts";
import { checkDomainConfig, nameProblem } from "./config-spec.ts";
import { formatCpuList, parseCpuList } from "./cpus.ts";
import type { DomainModel } from "./model.ts";
import { type Active, DOM0_NAME, type FullConfig, metaOf, mib } from "./records.ts";
import { schedOf } from "./scheduler.ts";
import { writeFileAtomicSync } from "./store.ts";
import { inactiveSummary, summaryOf } from "./summaries.ts";
import type { DomainConfig, DomainCreateRequest, DomainSummary } from "./types.ts";

export interface LaunchOptions {
  managed: boolean;
  paused: boolean;
  restartCount: number;
  previousRestartTime?: number;
  replacing?: Active;
  incoming?: boolean;
  /** Starts the guest instead of `driver.create` (restore: `driver.restoreFrom`). */
  startGuest?: (spec: GuestSpec) => Promise<GuestInfo>;
}

export function readDomidCounter(m: DomainModel): number {
  try {
    const n = Number.parseInt(readFileSync(join(m.paths.runDir, "next-domid"), "utf8"), 10);
    return Number.isInteger(n) && n > 0 ? n : 1;
  } catch {
    return 1;
  }
}

/**
 * The next domain id, recorded before it is used: an id is never handed out unless the counter
 * past it is on disk, so a restart never reuses one (issue 13 §3). A counter that cannot be
 * written (a full disk) refuses the creation rather than risk a reuse.
 */
function allocateDomid(m: DomainModel): number {
  while (m.active.has(m.nextDomid)) m.nextDomid++;
  const domid = m.nextDomid;
  try {
    writeFileAtomicSync(join(m.paths.runDir, "next-domid"), `${domid + 1}\n`, 0o644);
  } catch (error) {
    throw new XvmError("DOMID_UNRECORDED", { detail: errorMessage(error) });
  }
  m.nextDomid = domid + 1;
  return domid;
}

/** Checks a config as the API or a plugin handed it; fills in uuid and MACs. */
function prepare(input: DomainConfig): FullConfig {
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
export function assignMacs(m: DomainModel, config: FullConfig | DomainConfig): void {
  const used = new Set<string>();
  const note = (c: DomainConfig) => c.vif.forEach((v) => v.mac && used.add(v.mac.toLowerCase()));
  for (const rec of m.active.values()) note(rec.config);
  for (const c of m.managed.values()) note(c);
  config.vif.forEach((v) => v.mac && used.add(v.mac.toLowerCase()));
  for (const vif of config.vif) {
    if (vif.mac) continue;
    const mac = freeXenMac(used);
    used.add(mac);
    vif.mac = mac;
  }
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** Random draws before the walk: with 2^23 addresses, the first draw is free on any real host. */
export const MAC_DRAWS = 64;

/**
 * A MAC in 00:16:3e:00:00:00-7f:ff:ff not in `used` (xend's randomMAC: the fourth octet stays
 * below 0x80): a bounded number of random draws, then a walk that stops at the first free address
 * (at most |used| + 1 steps), then a clear error — never an endless loop (issue 13 §4).
 */
export function freeXenMac(used: ReadonlySet<string>, random: () => Buffer = () => randomBytes(3)): string {
  for (let tries = 0; tries < MAC_DRAWS; tries++) {
    const b = random();
    const mac = `00:16:3e:${hex2(b[0]! & 0x7f)}:${hex2(b[1]!)}:${hex2(b[2]!)}`;
    if (!used.has(mac)) return mac;
  }
  for (let n = 0; n < 0x800000 && n <= used.size; n++) {
    const mac = `00:16:3e:${hex2(n >> 16)}:${hex2((n >> 8) & 0xff)}:${hex2(n & 0xff)}`;
    if (!used.has(mac)) return mac;
  }
  throw new XvmError("DOMAIN_CONFIG", { detail: "every MAC address in Xen's range 00:16:3e:00:00:00-00:16:3e:7f:ff:ff is in use" });
}

/** Name and uuid must be unique among running domains and managed ones (same uuid = same domain). */
function checkUnique(m: DomainModel, config: FullConfig, options: { allowManagedUuid?: boolean; replacing?: Active; incoming?: boolean } = {}): void {
  if (config.name === DOM0_NAME) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: 0 });
  for (const rec of m.active.values()) {
    if (rec === options.replacing) continue;
    if (rec.config.name === config.name) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: rec.domid });
    if (rec.config.uuid === config.uuid) throw new XvmError("DOMAIN_UUID_TAKEN", { uuid: config.uuid, name: rec.config.name });
  }
  if (m.claimed.has(config.name)) throw new XvmError("DOMAIN_EXISTS", { name: config.name, domid: "(being created)" });
  for (const c of m.managed.values()) {
    if (options.allowManagedUuid && c.uuid === config.uuid) continue;
    if (c.name === config.name) throw new XvmError("DOMAIN_NAME_TAKEN", { name: c.name, uuid: c.uuid });
    if (c.uuid === config.uuid) throw new XvmError("DOMAIN_UUID_TAKEN", { uuid: config.uuid, name: c.name });
  }
}

function affinityFor(config: FullConfig, placement: number[] | undefined, phys: PhysInfo): number[][] {
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
export function launch(m: DomainModel, config: FullConfig, options: LaunchOptions): Promise<Active> {
  checkUnique(m, config, { allowManagedUuid: options.managed, replacing: options.replacing, incoming: options.incoming });
  m.claimed.add(config.name);
  return m.resources(async () => {
    try {
      const phys = await m.physInfo();
      const needKiB = config.memory * 1024;
      const totalKiB = m.host.memory(phys, 0).totalKiB;
      if (needKiB > totalKiB) {
        throw new XvmError("NO_MEMORY", { detail: `Domain '${config.name}' needs ${config.memory} MiB, more than this host's ${mib(totalKiB)} MiB of memory.` });
      }
      // The guest's memory, and what its backing process costs the host beyond it (model.ts).
      const request: DomainCreateRequest = { config, needKiB: needKiB + m.overheadKiB(config.maxvcpus ?? config.vcpus) };
      await m.fireHook("domainPreCreate", request);
      const final = prepare(request.config);
      final.uuid = config.uuid;
      final.name = config.name;
      checkDiskBacking(final.name, final.disk);
      checkVifBridges(final.name, final.vif);
      assignMacs(m, final);
      const available = m.host.available(phys, m.guestsKiB());
      const overhead = m.overheadKiB(final.maxvcpus ?? final.vcpus);
      if (final.memory * 1024 + overhead > available) {
        const figures = m.host.memory(phys, m.guestsKiB());
        const runner = overhead > 0 ? ` (${final.memory * 1024} KiB of memory and ${overhead} KiB for the process that runs it)` : "";
        throw new XvmError("NO_MEMORY", {
          detail: `Not enough memory for domain '${final.name}': it needs ${final.memory * 1024 + overhead} KiB${runner}, but only ${available} KiB are available (${figures.totalKiB} KiB total, ${figures.guestsKiB} KiB held by guests, ${figures.dom0KiB} KiB by Domain-0).`,
        });
      }
      const affinity = affinityFor(final, request.placement, phys);
      const domid = allocateDomid(m);
      const rec: Active = {
        domid, config: final, managed: options.managed, startTime: m.now() / 1000, restartCount: options.restartCount,
        previousRestartTime: options.previousRestartTime, targetKiB: final.memory * 1024, lost: false, dying: false,
        stopHandled: false, watchers: new Set(),
      };
      const spec: GuestSpec = {
        domid, name: final.name, uuid: final.uuid, memoryKiB: final.memory * 1024, maxMemKiB: (final.maxmem ?? final.memory) * 1024,
        vcpus: final.vcpus, maxVcpus: final.maxvcpus ?? final.vcpus, kernel: final.kernel, extra: final.extra ?? "",
        affinity, paused: options.paused, meta: metaOf(rec) as unknown as Record<string, unknown>,
        ...(options.incoming ? { incoming: true } : {}),
        sched: schedOf(final),
        disks: final.disk.map(guestDisk),
        vifs: final.vif.map(guestVif),
      };
      // Events of the new guest wait in its queue until it is registered.
      return await m.queue(domid, async () => {
        await faultPoint("create.before-driver", m.paths.runDir);
        const info = await (options.startGuest ?? ((s: GuestSpec) => m.driver.create(s)))(spec);
        await faultPoint("create.after-driver", m.paths.runDir);
        rec.info = info;
        rec.startTime = info.startTime || rec.startTime;
        if (options.replacing) m.forget(options.replacing, `the domain restarted as domain ${domid}`);
        m.active.set(domid, rec);
        if (options.managed) {
          m.managed.set(final.uuid, final);
          m.saveManaged(final);
        }
        m.log.info(`Domain ${final.name} (${domid}) created: ${final.memory} MiB, ${final.vcpus} vCPU(s), kernel ${final.kernel}${options.paused ? ", paused" : ""}`);
        m.dmesgLine(`(XEN) Domain ${domid} (${final.name}) created: ${final.memory} MiB, ${final.vcpus} vCPU(s)`);
        return rec;
      });
    } finally {
      m.claimed.delete(config.name);
    }
  }).then(async (rec) => {
    await m.fireQuietly("domainCreated", await summaryOf(m, rec));
    return rec;
  });
}

export async function create(m: DomainModel, config: DomainConfig, options: { paused?: boolean; incoming?: boolean } = {}): Promise<DomainSummary> {
  const full = prepare(config);
  // A domain migrating in is never managed here, and never takes the uuid of one that is (checkUnique).
  const rec = await launch(m, full, { managed: false, paused: options.paused ?? false, restartCount: 0, incoming: options.incoming });
  return summaryOf(m, rec);
}

export async function define(m: DomainModel, config: DomainConfig): Promise<DomainSummary> {
  const full = prepare(config);
  return m.resources(async () => {
    // Same name and uuid as a managed domain (or no uuid given): `xm new` again replaces its config.
    let existing: FullConfig | undefined;
    for (const c of m.managed.values()) if (c.name === full.name) existing = c;
    if (existing && (config.uuid === undefined || config.uuid.toLowerCase() === existing.uuid)) full.uuid = existing.uuid;
    for (const rec of m.active.values()) {
      if (rec.config.name === full.name && rec.config.uuid !== full.uuid) throw new XvmError("DOMAIN_EXISTS", { name: full.name, domid: rec.domid });
      if (rec.config.uuid === full.uuid && !rec.managed) throw new XvmError("DOMAIN_UUID_TAKEN", { uuid: full.uuid, name: rec.config.name });
    }
    if (full.name === DOM0_NAME) throw new XvmError("DOMAIN_EXISTS", { name: full.name, domid: 0 });
    for (const c of m.managed.values()) {
      if (c.uuid === full.uuid) continue;
      if (c.name === full.name) throw new XvmError("DOMAIN_NAME_TAKEN", { name: c.name, uuid: c.uuid });
    }
    assignMacs(m, full);
    m.managed.set(full.uuid, full);
    m.saveManaged(full);
    m.log.info(`Domain ${full.name} (${full.uuid}) ${existing ? "config replaced" : "defined"} (managed)`);
    const running = m.activeByUuid(full.uuid);
    return running ? summaryOf(m, running) : inactiveSummary(full);
  });
}

export async function start(m: DomainModel, dom: string | number, options: { paused?: boolean } = {}): Promise<DomainSummary> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_BAD_STATE", { dom: DOM0_NAME, state: "running", action: "start" });
  if (found.kind === "active") {
    throw new XvmError("DOMAIN_BAD_STATE", { dom: found.rec.config.name, state: found.rec.managed ? "already running" : "running and not managed", action: "start" });
  }
  // Starting afresh would throw the saved state away: that is `xm delete`'s or `xm resume`'s call.
  if (isSuspended(m, found.config.uuid)) throw new XvmError("DOMAIN_BAD_STATE", { dom: found.config.name, state: "suspended (xm resume brings it back)", action: "start" });
  const rec = await launch(m, structuredClone(found.config), { managed: true, paused: options.paused ?? false, restartCount: 0 });
  return summaryOf(m, rec);
}

export async function undefine(m: DomainModel, dom: string | number): Promise<void> {
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "delete", dom: 0 });
  if (found.kind === "active") {
    const rec = found.rec;
    throw new XvmError("DOMAIN_BAD_STATE", {
      dom: rec.config.name, state: rec.managed ? "running (destroy or shut it down first)" : "not managed by xend", action: "delete",
    });
  }
  await m.resources(async () => {
    m.managed.delete(found.config.uuid);
    m.store.remove(found.config.uuid);
  });
  m.log.info(`Domain ${found.config.name} (${found.config.uuid}) deleted from xend's management`);
}

export async function rename(m: DomainModel, dom: string | number, newName: string): Promise<void> {
  const problem = nameProblem(newName);
  if (problem) throw new XvmError("DOMAIN_CONFIG", { detail: `name '${newName}' ${problem}` });
  const found = m.resolve(dom);
  if (found.kind === "dom0") throw new XvmError("DOMAIN_PRIVILEGED", { action: "rename", dom: 0 });
  const uuid = found.kind === "active" ? found.rec.config.uuid : found.config.uuid;
  const oldName = found.kind === "active" ? found.rec.config.name : found.config.name;
  if (oldName === newName) return;
  for (const rec of m.active.values()) if (rec.config.name === newName) throw new XvmError("DOMAIN_EXISTS", { name: newName, domid: rec.domid });
  for (const c of m.managed.values()) if (c.name === newName && c.uuid !== uuid) throw new XvmError("DOMAIN_NAME_TAKEN", { name: newName, uuid: c.uuid });
  if (m.claimed.has(newName) || newName === DOM0_NAME) throw new XvmError("DOMAIN_EXISTS", { name: newName, domid: newName === DOM0_NAME ? 0 : "(being created)" });
  if (found.kind === "active") {
    await m.withDomain(found.rec.domid, "rename", (rec) => m.updateConfig(rec, { name: newName }));
  } else {
    const config = { ...found.config, name: newName };
    m.managed.set(uuid, config);
    m.saveManaged(config);
  }
  m.log.info(`Domain ${oldName} renamed to ${newName}`);
}
