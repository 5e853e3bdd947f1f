/** dumpCore: writes the guest's core file from inside the runner, where its memory is. */
import { writeXenCoreSync } from "../../../formats/elfcore.ts";
import { PAGE_SIZE } from "../memory.ts";
import { SIM_XEN_VERSION } from "../hostinfo.ts";
import { arg, type RunnerCommand } from "../runner-command.ts";

/** Progress frames at most this often (the write is synchronous; frames go out as it proceeds). */
const PROGRESS_EVERY_MS = 100;

export const commands: Record<string, RunnerCommand> = {
  dumpCore({ host, guest, args, progress }) {
    const path = arg.string(args, "path", "dumpCore");
    const live = arg.bool(args, "live", "dumpCore", false);
    const write = () => {
      const nrPages = Math.min(guest.mem.nrPages, Math.ceil(guest.targetKiB / 4));
      let last = 0;
      writeXenCoreSync(
        path,
        {
          domid: host.spec.domid,
          name: host.spec.name,
          uuid: host.spec.uuid,
          pageSize: PAGE_SIZE,
          nrPages,
          memory: guest.mem.bytes.subarray(0, nrPages * PAGE_SIZE),
          vcpus: guest.vcpuState(),
          xenVersion: { ...SIM_XEN_VERSION },
        },
        (done, total) => {
          const now = performance.now();
          if (done === total || now - last >= PROGRESS_EVERY_MS) {
            last = now;
            progress({ done, total });
          }
        },
      );
    };
    const t0 = performance.now();
    if (live) write();
    else guest.withVcpusStopped(write);
    host.log(`core dump written to ${path} (${live ? "live" : "paused"}) in ${Math.round(performance.now() - t0)} ms`);
    return { result: { path } };
  },
};
