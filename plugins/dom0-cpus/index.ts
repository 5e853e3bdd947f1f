import {
  AffinityError, definePlugin, formatKernelCpuList, onlineCpus, planDom0Cpus, processAffinity, setProcessAffinity, withValidation,
  type Dom0CpuPlan, type Paths,
} from "xvm/plugin";
import { properties } from "./properties.ts";

/**
 * The CPUs this host gives a daemon, taken once, before dom0-cpus narrows the process: the online
 * CPUs the daemon was allowed to use when it started (a cpuset or a `taskset` around xend counts).
 * Kept per daemon (its Paths), since the first look happens in `validate`, before `setup`.
 */
const hostCpusOf = new WeakMap<Paths, number[]>();
function hostCpus(paths: Paths): number[] {
  let cpus = hostCpusOf.get(paths);
  if (!cpus) {
    const online = onlineCpus();
    const allowed = processAffinity("self");
    const usable = allowed ? online.filter((c) => allowed.includes(c)) : online;
    cpus = usable.length > 0 ? usable : online;
    hostCpusOf.set(paths, cpus);
  }
  return cpus;
}

/** Why `value` CPUs cannot be planned on this host, or undefined. */
function planProblem(value: number, cpus: number[]): string | undefined {
  try {
    planDom0Cpus(value, cpus);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export default definePlugin({
  name: "dom0-cpus",
  description: "Restricts the control domain (dom0) to a number of physical CPUs.",
  // The host refuses a count this host cannot give (the default 0 at start, the value in force on a refresh).
  properties: withValidation(properties, {
    "dom0-cpus": {
      validate: (value, v) => planProblem(value, hostCpus(v.paths)),
      show: (value) => (value === 0 ? "0 (one vCPU per physical CPU)" : String(value)),
    },
  }),
  setup(ctx) {
    const log = ctx.log;
    const cpus = hostCpus(ctx.paths);
    let value = ctx.config["dom0-cpus"];
    let plan: Dom0CpuPlan;

    /** Applies a plan: Domain-0's vCPUs as xm shows them, and the daemon's real CPU affinity. */
    const apply = (next: Dom0CpuPlan): string | undefined => {
      plan = next;
      try {
        ctx.domains.setHostResources({ dom0Vcpus: next.vcpus });
      } catch (error) {
        log.debug(`dom0-cpus: the domain manager does not take Domain-0's vCPUs yet: ${(error as Error).message}`);
      }
      try {
        setProcessAffinity(process.pid, next.processCpus);
      } catch (error) {
        if (!(error instanceof AffinityError)) throw error;
        return `dom0-cpus: cannot restrict xend (pid ${process.pid}) to CPUs ${formatKernelCpuList(next.processCpus)}: ${error.message}`;
      }
      log.info(
        `dom0-cpus: ${value === 0 ? "0 (one vCPU per physical CPU)" : value}: Domain-0 has ${next.vcpus.length} vCPU${next.vcpus.length === 1 ? "" : "s"} pinned to CPUs ${formatKernelCpuList(next.processCpus)}; xend (pid ${process.pid}) runs on CPUs ${formatKernelCpuList(next.processCpus)}; new guests are placed on CPUs ${formatKernelCpuList(next.guestCpus)}`,
      );
      return undefined;
    };

    let affinityProblem = apply(planDom0Cpus(value, cpus));
    if (affinityProblem) {
      log.error(affinityProblem);
      ctx.degrade(affinityProblem);
    }

    return {
      refresh() {
        const wanted = ctx.config["dom0-cpus"];
        if (wanted === value && !affinityProblem) return;
        value = wanted;
        affinityProblem = apply(planDom0Cpus(wanted, cpus));
        if (affinityProblem) log.error(affinityProblem);
        ctx.degrade(affinityProblem);
      },
      hooks: {
        domainPreCreate(request) {
          // Keep guests off Domain-0's CPUs where there are others; a config's own `cpus` wins.
          if (request.config.cpus) return;
          if (plan.guestCpus.length < cpus.length) request.placement = [...plan.guestCpus];
        },
      },
      stop() {
        // Leave the process as it was given to us, in case it lives on (tests, embedding).
        try {
          setProcessAffinity(process.pid, cpus);
        } catch {
          // best effort at shutdown
        }
      },
    };
  },
});
