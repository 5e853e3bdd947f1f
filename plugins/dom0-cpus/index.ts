import { AffinityError, definePlugin, formatError, formatKernelCpuList, onlineCpus, planDom0Cpus, processAffinity, setProcessAffinity, XvmError, type Dom0CpuPlan } from "xvm/plugin";
import { properties } from "./properties.ts";

export default definePlugin({
  name: "dom0-cpus",
  description: "Restricts the control domain (dom0) to a number of physical CPUs.",
  properties,
  setup(ctx) {
    const log = ctx.log;
    // The CPUs this host gives xend, taken before dom0-cpus narrows the process: the online CPUs
    // the daemon was allowed to use when it started (a cpuset or a `taskset` around xend counts).
    const online = onlineCpus();
    const allowed = processAffinity("self");
    const hostCpus = allowed ? online.filter((c) => allowed.includes(c)) : online;
    const cpus = hostCpus.length > 0 ? hostCpus : online;

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

    // A value refused at start has no previous value to fall back on: the default (0) stands in
    // and the daemon stays degraded until a refresh brings a good value.
    let refusedAtStart: string | undefined;
    try {
      plan = planDom0Cpus(value, cpus);
    } catch (error) {
      refusedAtStart = `${formatError("CONFIG_INVALID", { property: "dom0-cpus", detail: (error as Error).message })}; using 0 (one vCPU per physical CPU) instead`;
      log.error(refusedAtStart);
      value = 0;
      plan = planDom0Cpus(0, cpus);
    }
    let affinityProblem = apply(plan);
    if (affinityProblem) log.error(affinityProblem);
    const problems = [refusedAtStart, affinityProblem].filter((p): p is string => p !== undefined);
    if (problems.length > 0) ctx.degrade(problems.join("; "));

    return {
      refresh() {
        const wanted = ctx.config["dom0-cpus"];
        if (wanted === value && !refusedAtStart && !affinityProblem) return;
        let next: Dom0CpuPlan;
        try {
          next = planDom0Cpus(wanted, cpus);
        } catch (error) {
          // Thrown so that the plugin host logs it, shows it in `svcs -x` and puts the previous value back.
          throw new XvmError("CONFIG_INVALID", { property: "dom0-cpus", detail: `${(error as Error).message}; keeping ${value}` });
        }
        value = wanted;
        refusedAtStart = undefined;
        affinityProblem = apply(next);
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
