/**
 * The shapes the control API's domain routes take and answer, as valibot schemas: they validate
 * requests and document `/openapi.json` (through the daemon's ApiRouter). Meaning checks (name
 * rules, memory <= maxmem, MAC format, …) are the domain manager's, so a plugin calling it directly
 * gets them too.
 */
import * as v from "valibot";
import { CONFIG_DEFAULTS, DOMAIN_ACTIONS } from "./config-spec.ts";

const int = (description: string) => v.pipe(v.number(), v.integer(), v.description(description));
const str = (description: string) => v.pipe(v.string(), v.description(description));

export const ActionSchema = v.picklist(DOMAIN_ACTIONS);

export const VifSchema = v.strictObject({
  mac: v.optional(str("MAC address; one in 00:16:3e:xx:xx:xx is chosen when absent")),
  bridge: v.optional(v.string()),
  ip: v.optional(v.string()),
  script: v.optional(v.string()),
  vifname: v.optional(v.string()),
  model: v.optional(v.string()),
  type: v.optional(v.string()),
  backend: v.optional(v.string()),
  rate: v.optional(v.string()),
  accel: v.optional(v.string()),
});

/** A domain config as the API takes it: what an xm config file says, with xm's defaults. */
export const DomainConfigSchema = v.object({
  name: str("Domain name, unique on this host"),
  uuid: v.optional(str("Chosen at random when absent")),
  description: v.optional(v.string()),
  memory: v.optional(int("MiB"), CONFIG_DEFAULTS.memory),
  maxmem: v.optional(int("MiB; default: memory")),
  vcpus: v.optional(int("vCPUs online at start"), CONFIG_DEFAULTS.vcpus),
  maxvcpus: v.optional(int("Most vCPUs (vcpu-set limit); default: vcpus")),
  cpus: v.optional(str("Physical CPUs the vCPUs may use, e.g. `0-3,^1`")),
  kernel: str("Guest program, e.g. `sim:idle`, `sim:counter`, `sim:memwriter`"),
  ramdisk: v.optional(v.string()),
  extra: v.optional(str("Kernel command line, e.g. `rate=64M wss=256M` for sim:memwriter")),
  root: v.optional(v.string()),
  on_poweroff: v.optional(ActionSchema, CONFIG_DEFAULTS.on_poweroff),
  on_reboot: v.optional(ActionSchema, CONFIG_DEFAULTS.on_reboot),
  on_crash: v.optional(ActionSchema, CONFIG_DEFAULTS.on_crash),
  on_xend_start: v.optional(v.picklist(["ignore", "start"])),
  on_xend_stop: v.optional(v.picklist(["ignore", "shutdown", "suspend"])),
  vif: v.optional(v.array(VifSchema), []),
  disk: v.optional(v.array(str("`TYPE:PATH,VDEV,MODE`")), []),
  extraKeys: v.optional(v.record(v.string(), v.unknown())),
});

export const VcpuInfoSchema = v.object({
  number: v.number(),
  online: v.boolean(),
  running: v.boolean(),
  blocked: v.boolean(),
  cpuTimeNs: v.number(),
  cpu: v.pipe(v.number(), v.description("Physical CPU it last ran on (-1 when offline)")),
  affinity: v.pipe(v.array(v.number()), v.description("CPUs it may run on; empty = any")),
});

const FlagsSchema = v.object({
  running: v.boolean(), blocked: v.boolean(), paused: v.boolean(), shutdown: v.boolean(), crashed: v.boolean(), dying: v.boolean(),
});

export const DomainSummarySchema = v.object({
  domid: v.pipe(v.nullable(v.number()), v.description("null for an inactive managed domain")),
  name: v.string(),
  uuid: v.string(),
  memory: int("MiB, current"),
  maxmem: int("MiB"),
  vcpus: int("online vCPUs"),
  maxvcpus: v.number(),
  state: str("xm's six flags `rbpscd`, e.g. `r-----`"),
  flags: FlagsSchema,
  cpuTime: v.pipe(v.number(), v.description("seconds of CPU time")),
  startTime: v.pipe(v.number(), v.description("epoch seconds")),
  managed: v.boolean(),
  config: DomainConfigSchema,
  vcpuInfo: v.array(VcpuInfoSchema),
  pid: v.optional(v.number()),
  restartCount: v.optional(v.number()),
  shutdownReason: v.optional(v.string()),
  suspended: v.optional(v.pipe(v.boolean(), v.description("an inactive managed domain saved by xm suspend"))),
  vbdStats: v.optional(v.pipe(v.array(v.object({
    devid: v.number(), readRequests: v.number(), writeRequests: v.number(), sectorsRead: v.number(), sectorsWritten: v.number(),
  })), v.description("request counters of the domain's disks, where the driver counts them (sim)"))),
});

export const DomainListSchema = v.object({ domains: v.array(DomainSummarySchema) });
export const NodeInfoSchema = v.pipe(v.record(v.string(), v.union([v.string(), v.number()])), v.description("xm info's fields, in xm's order"));
export const OkSchema = v.object({ ok: v.literal(true) });
