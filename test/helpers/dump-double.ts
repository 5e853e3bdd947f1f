/**
 * Test doubles for the enable-dump plugin: a tiny hypervisor that keeps guest memory in this
 * process and dumps it with the real writer, a domain manager over it, and a hand-built
 * PluginContext, so the plugin is tested through its contract only.
 */
import { writeFileSync } from "node:fs";
import { Hono } from "hono";
import { XvmError } from "../../src/errors.ts";
import { writeXenCoreSync } from "../../src/formats/elfcore.ts";
import type { DomainConfig, DomainManager, DomainSummary } from "../../src/domain/types.ts";
import type { DumpOptions, HypervisorDriver, VcpuState } from "../../src/hypervisor/driver.ts";
import { Paths } from "../../src/paths.ts";
import type { ConfigValue, LegacyHttpRegistry, Logger, PluginContext } from "../../src/plugin/contract.ts";
import { createLegacyHttpRegistry } from "../../src/plugin/legacy-http.ts";

export const PAGE = 4096;

export interface FakeGuest {
  domid: number;
  name: string;
  uuid: string;
  memory: Uint8Array;
  vcpus: VcpuState[];
  paused: boolean;
  managed: boolean;
}

/** Deterministic bytes (xorshift32) so failures reproduce. */
export function pseudoRandom(bytes: Uint8Array, seed = 0x9e3779b9): void {
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    bytes[i] = x & 0xff;
  }
}

export function makeGuest(domid: number, name: string, pages: number, seed = domid): FakeGuest {
  const memory = new Uint8Array(new SharedArrayBuffer(pages * PAGE));
  pseudoRandom(memory, seed * 7919 + 1);
  // Some zero pages, including the last one, so holes are exercised.
  for (let p = 1; p < pages; p += 3) memory.fill(0, p * PAGE, (p + 1) * PAGE);
  memory.fill(0, (pages - 1) * PAGE);
  return {
    domid, name, uuid: `00000000-0000-0000-0000-${String(domid).padStart(12, "0")}`, memory,
    vcpus: [{ number: 0, regs: { pc: "4096", sp: "8192", counter: String(domid * 100) } }, { number: 1, regs: { pc: "12" } }],
    paused: false, managed: false,
  };
}

export class FakeHypervisor {
  readonly guests = new Map<number, FakeGuest>();
  /** Set to make the next dumps fail after writing this many bytes (a full disk). */
  failAfterBytes: number | undefined;
  readonly pausedDuringDump: boolean[] = [];
  dumps = 0;

  readonly driver = {
    name: "fake",
    dumpCore: async (domid: number, path: string, options: DumpOptions): Promise<void> => {
      const g = this.guests.get(domid);
      if (!g) throw new XvmError("DOMAIN_NOT_FOUND", { dom: domid });
      this.dumps++;
      const wasPaused = g.paused;
      if (!options.live) g.paused = true;
      this.pausedDuringDump.push(g.paused);
      try {
        if (this.failAfterBytes !== undefined) {
          writeFileSync(path, new Uint8Array(this.failAfterBytes));
          throw new Error("ENOSPC: no space left on device, write");
        }
        writeXenCoreSync(path, {
          domid, name: g.name, uuid: g.uuid, pageSize: PAGE, nrPages: g.memory.length / PAGE, memory: g.memory,
          vcpus: g.vcpus, xenVersion: { major: 3, minor: 4, extra: ".0-xvm" },
        }, options.onProgress);
      } finally {
        g.paused = wasPaused;
      }
    },
  } as unknown as HypervisorDriver;
}

function summary(g: FakeGuest): DomainSummary {
  const config: DomainConfig = {
    name: g.name, memory: g.memory.length / 2 ** 20, vcpus: g.vcpus.length, kernel: "sim:counter",
    on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [],
  };
  return {
    domid: g.domid, name: g.name, uuid: g.uuid, memory: config.memory, maxmem: config.memory, vcpus: g.vcpus.length,
    maxvcpus: g.vcpus.length, state: g.paused ? "--p---" : "r-----",
    flags: { running: !g.paused, blocked: false, paused: g.paused, shutdown: false, crashed: false, dying: false },
    cpuTime: 0, startTime: 0, managed: g.managed, config, vcpuInfo: [],
  };
}

export function fakeDomains(hv: FakeHypervisor): DomainManager & { calls: string[] } {
  const calls: string[] = [];
  const find = (dom: string | number): FakeGuest => {
    for (const g of hv.guests.values()) if (g.name === String(dom) || String(g.domid) === String(dom) || g.uuid === dom) return g;
    throw new XvmError("DOMAIN_NOT_FOUND", { dom });
  };
  let nextId = 100;
  const manager: Partial<DomainManager> & { calls: string[] } = {
    calls,
    list: async () => [...hv.guests.values()].map(summary),
    get: async (dom) => summary(find(dom)),
    destroy: async (dom) => { const g = find(dom); calls.push(`destroy ${g.name}`); hv.guests.delete(g.domid); },
    create: async (config) => {
      calls.push(`create ${config.name}`);
      const g = makeGuest(nextId++, config.name, 4);
      hv.guests.set(g.domid, g);
      return summary(g);
    },
    start: async (dom) => {
      calls.push(`start ${dom}`);
      const g = makeGuest(nextId++, String(dom), 4);
      hv.guests.set(g.domid, g);
      return summary(g);
    },
  };
  return manager as DomainManager & { calls: string[] };
}

export function captureLogger(lines: string[], component = "enable-dump"): Logger {
  const at = (level: string) => (message: string) => void lines.push(`${level} (${component}) ${message}`);
  return { trace: at("TRACE"), debug: at("DEBUG"), info: at("INFO"), warn: at("WARN"), error: at("ERROR"), child: (c) => captureLogger(lines, `${component}.${c}`) };
}

export interface DumpTestContext<C> {
  ctx: PluginContext<C>;
  config: C;
  logs: string[];
  routes: Hono;
  domains: DomainManager & { calls: string[] };
  legacyHttp: LegacyHttpRegistry;
}

export function pluginContext<C extends Record<string, ConfigValue>>(root: string, hv: FakeHypervisor, config: C): DumpTestContext<C> {
  const logs: string[] = [];
  const routes = new Hono();
  const domains = fakeDomains(hv);
  const legacyHttp = createLegacyHttpRegistry();
  const ctx: PluginContext<C> = {
    name: "enable-dump",
    config,
    allConfig: config,
    log: captureLogger(logs),
    paths: new Paths(root),
    domains,
    hypervisor: hv.driver,
    routes,
    serve: async () => { throw new Error("not used"); },
    degrade: () => undefined,
    legacyHttp,
  };
  return { ctx, config, logs, routes, domains, legacyHttp };
}
