/** The runner commands behind the sim driver's credit scheduler (see ../credit.ts). */
import { XvmError } from "../../../errors.ts";
import { arg, type RunnerCommand } from "../runner-command.ts";

export const commands: Record<string, RunnerCommand> = {
  /** Weight, cap and, per online vCPU, whether it wants the CPU and where it may run. */
  schedState({ guest }) {
    return { result: guest.schedState() };
  },
  /** New weight and cap, kept in spec.json (a re-attaching driver and a restarted runner see them). */
  setSched({ host, guest, args }) {
    guest.setSched({ weight: arg.int(args, "weight", "setSched"), cap: arg.int(args, "cap", "setSched") });
    host.saveSpec();
  },
  /** Per-vCPU limits (percent of each timeslice) computed by the driver. */
  setLimits({ guest, args }) {
    const limits = args.limits;
    if (!Array.isArray(limits) || limits.some((l) => typeof l !== "number" || !Number.isFinite(l))) {
      throw new XvmError("XVM_BAD_REQUEST", { detail: "setLimits: 'limits' must be a list of numbers" });
    }
    guest.setLimits(limits as number[]);
    return { result: guest.limits() };
  },
};
