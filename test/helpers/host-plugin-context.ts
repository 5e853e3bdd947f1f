/**
 * A plugin context for unit tests of the host-resource plugins: config values the test sets,
 * captured log lines and degrade reasons, and a domain manager that lists the domains the test
 * gives it and records what plugins tell it (setHostResources).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import type { ConfigValue, Logger, PluginContext, PluginDefinition, PluginInstance, PropertyDecls } from "../../src/plugin/contract.ts";
import type { DomainConfig, DomainSummary, HostResources } from "../../src/domain/types.ts";
import { Paths } from "../../src/paths.ts";

export interface FakeContext {
  ctx: PluginContext<Record<string, ConfigValue>>;
  config: Record<string, ConfigValue>;
  lines: string[];
  degraded: (string | undefined)[];
  resources: HostResources;
  domains: DomainSummary[];
  root: string;
  cleanup(): void;
}

function logger(lines: string[], component: string): Logger {
  const at = (level: string) => (message: string) => void lines.push(`${level} (${component}) ${message}`);
  return { trace: at("TRACE"), debug: at("DEBUG"), info: at("INFO"), warn: at("WARNING"), error: at("ERROR"), child: (c) => logger(lines, `${component}.${c}`) };
}

export function fakeContext(definition: PluginDefinition, values: Record<string, ConfigValue> = {}, totalMemoryKiB = 4096 * 1024): FakeContext {
  const config: Record<string, ConfigValue> = {};
  for (const [name, decl] of Object.entries((definition.properties ?? {}) as PropertyDecls)) config[name] = decl.default;
  Object.assign(config, values);
  const root = mkdtempSync(join(tmpdir(), "xvm-plugin-"));
  const fake: FakeContext = {
    config,
    lines: [],
    degraded: [],
    resources: {},
    domains: [],
    root,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
    ctx: undefined as never,
  };
  const domains = {
    list: async () => fake.domains,
    setHostResources: (update: HostResources) => void Object.assign(fake.resources, update),
  };
  fake.ctx = {
    name: definition.name,
    config,
    allConfig: config,
    log: logger(fake.lines, definition.name),
    paths: new Paths(root),
    domains: domains as unknown as PluginContext<never>["domains"],
    hypervisor: { physInfo: async () => ({ totalMemoryKiB }) } as unknown as PluginContext<never>["hypervisor"],
    routes: new Hono(),
    serve: () => Promise.reject(new Error("not in unit tests")),
    degrade: (reason) => void fake.degraded.push(reason),
  };
  return fake;
}

export async function setUp(definition: PluginDefinition, fake: FakeContext): Promise<PluginInstance> {
  return (await definition.setup(fake.ctx as PluginContext<never>)) ?? {};
}

export function guestConfig(name: string, extra: Partial<DomainConfig> = {}): DomainConfig {
  return { name, memory: 256, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [], ...extra };
}

export function summary(domid: number, config: DomainConfig): DomainSummary {
  return {
    domid,
    name: config.name,
    uuid: `00000000-0000-0000-0000-${String(domid).padStart(12, "0")}`,
    memory: config.memory,
    maxmem: config.maxmem ?? config.memory,
    vcpus: config.vcpus,
    maxvcpus: config.maxvcpus ?? config.vcpus,
    state: "-b----",
    flags: { running: false, blocked: true, paused: false, shutdown: false, crashed: false, dying: false },
    cpuTime: 0,
    startTime: 0,
    managed: false,
    config,
    vcpuInfo: [],
  };
}
