/**
 * The `op=` operations of `/xend/domain/<dom>` that the domain manager carries out, with xend's
 * parameters and answers (`SrvDomain.py`): 202 + Location for the ones xend "accepted", 200 with
 * the result (empty for none) for the rest. Ops the manager cannot do (save, device_*, sched_sedf,
 * vif_limit_set, configure, reset) are left out and answer 501; dump and migrate are added by their
 * plugins through the legacyHttp registry.
 */
import { parseCpuList as parseCpus, vcpuInfoToSxp, type CpuListError, type DomainManager, type DomainSummary, type Sxp } from "xvm/plugin";
import { ArgError, type FormArgs } from "./request.ts";

export interface OpDeps {
  domains: DomainManager;
  /** Physical CPUs, for the cpumap of vCPUs allowed anywhere. */
  nrCpus(): Promise<number>;
}

export interface BuiltinOp {
  accepted?: boolean;
  /** Also served for `GET …?op=` (xend: vcpuinfo only). */
  get?: boolean;
  run(d: DomainSummary, args: FormArgs, deps: OpDeps): Promise<Sxp | undefined>;
}

const REASONS = ["poweroff", "halt", "reboot", "suspend"] as const;
type Reason = (typeof REASONS)[number];

/** The manager's handle for a domain: its domid while it runs (names can be reused), else its name. */
function ref(d: DomainSummary): string | number {
  return d.domid ?? d.name;
}

/**
 * A CPU list as xm and libvirt wrote it: `0,1,2`, `[0,1,2]` (format < 3), ranges `0-3`, exclusions
 * `^1`; `all`/`any` for every CPU.
 */
export function parseCpuList(text: string): number[] | "all" {
  const s = text.replace(/[[\]\s]/g, "");
  if (s === "all" || s === "any" || s === "-1") return "all";
  let cpus: number[];
  try {
    cpus = parseCpus(s, { maxRange: 10_000 });
  } catch (error) {
    const e = error as CpuListError;
    throw new ArgError(e.problem === "backwards" ? `invalid cpumap '${text}': range ${e.part} is backwards` : `invalid cpumap '${text}': expected CPU numbers such as 0,2-3`);
  }
  if (cpus.length === 0) throw new ArgError(`invalid cpumap '${text}': no CPU left`);
  return cpus;
}

/**
 * xend's sysrq `key` is the character's code (`int(key)`, then `'%c' % key`); a single non-digit
 * character is taken as the key itself, which is what people type.
 */
function sysrqKey(args: FormArgs): string {
  const key = args.require("key");
  if (/^\s*\d+\s*$/.test(key)) {
    const code = Number(key);
    if (code < 1 || code > 127) throw new ArgError(`sysrq key ${key} is not an ASCII character code`);
    return String.fromCharCode(code);
  }
  if (key.length === 1) return key;
  throw new ArgError(`invalid literal for int() with base 10: '${key}'`);
}

export const DOMAIN_OPS: Readonly<Record<string, BuiltinOp>> = {
  pause: { run: async (d, _a, { domains }) => void (await domains.pause(ref(d))) },
  unpause: { run: async (d, _a, { domains }) => void (await domains.unpause(ref(d))) },
  shutdown: {
    accepted: true,
    async run(d, args, { domains }) {
      const reason = args.require("reason");
      if (!(REASONS as readonly string[]).includes(reason)) throw new ArgError(`Invalid reason: ${reason}`);
      await domains.shutdown(ref(d), reason as Reason);
      return undefined;
    },
  },
  destroy: { accepted: true, run: async (d, _a, { domains }) => void (await domains.destroy(ref(d))) },
  delete: { accepted: true, run: async (d, _a, { domains }) => void (await domains.undefine(d.name)) },
  start: {
    accepted: true,
    // xend compared `paused` with [1], which a form value never equals; 1/true start it paused here.
    async run(d, args, { domains }) {
      const paused = ["1", "true", "yes"].includes((args.get("paused") ?? "").toLowerCase());
      await domains.start(d.name, { paused });
      return undefined;
    },
  },
  rename: { accepted: true, run: async (d, args, { domains }) => void (await domains.rename(ref(d), args.require("name"))) },
  sysrq: { accepted: true, run: async (d, args, { domains }) => void (await domains.sysrq(ref(d), sysrqKey(args))) },
  // Devices of the simulator are ready as soon as the domain exists.
  wait_for_devices: { accepted: true, run: async () => undefined },
  maxmem_set: { run: async (d, args, { domains }) => void (await domains.setMaxMemory(ref(d), args.int("memory"))) },
  mem_target_set: { run: async (d, args, { domains }) => void (await domains.setMemoryTarget(ref(d), args.int("target"))) },
  set_vcpus: { run: async (d, args, { domains }) => void (await domains.setVcpus(ref(d), args.int("vcpus"))) },
  /** libvirt's schedinfo: weight and/or cap (a missing one stays as it is, as xend's None did); answers xend's rc 0. */
  domain_sched_credit_set: {
    async run(d, args, { domains }) {
      if (!domains.setSchedCredit) throw new ArgError("the credit scheduler is not available");
      const change: { weight?: number; cap?: number } = {};
      if (args.get("weight") !== undefined) change.weight = args.int("weight");
      if (args.get("cap") !== undefined) change.cap = args.int("cap");
      await domains.setSchedCredit(ref(d), change);
      return 0;
    },
  },
  pincpu: {
    async run(d, args, { domains }) {
      const vcpuText = args.require("vcpu").trim();
      let vcpu: number | "all";
      if (vcpuText === "all" || vcpuText === "-1") vcpu = "all";
      else if (/^\d+$/.test(vcpuText)) vcpu = Number(vcpuText);
      else throw new ArgError(`invalid literal for int() with base 10: '${vcpuText}'`);
      await domains.pinVcpu(ref(d), vcpu, parseCpuList(args.require("cpumap")));
      return undefined;
    },
  },
  vcpuinfo: {
    get: true,
    run: async (d, _a, { nrCpus }) => vcpuInfoToSxp(d, await nrCpus()),
  },
};
