/**
 * Crash dumps of a QEMU guest (enable-dump, `xm dump-core`): QEMU's own ELF core
 * (`dump-guest-memory`, paging off: PT_NOTE with NT_PRSTATUS per vCPU, PT_LOAD per RAM block),
 * written by QEMU into the file xend names. The guest is stopped while QEMU writes it (QEMU has no
 * live dump).
 */
import { chownSync, closeSync, openSync } from "node:fs";
import { XvmError } from "../../errors.ts";
import type { DumpOptions } from "../driver.ts";
import { eventNap } from "./event-nap.ts";
import type { QmpEvent } from "./qmp.ts";

/** What the dump needs of the driver. */
export interface DumpHost {
  readonly user?: { uid: number; gid: number };
  command<T = unknown>(domid: number, command: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  watchEvents(domid: number, listener: (event: QmpEvent) => void): () => void;
}

export async function dumpGuestMemory(host: DumpHost, domid: number, path: string, options: DumpOptions): Promise<void> {
  if (host.user) {
    // QEMU writes the dump itself: as config/qemu-user it gets the one file, made by xend.
    closeSync(openSync(path, "a", 0o600));
    chownSync(path, host.user.uid, host.user.gid);
  }
  // QEMU says DUMP_COMPLETED the moment the file is whole: wait for that rather than for the
  // next progress poll (every 100 ms, for onProgress), which cost 50 ms a dump on average.
  const { wake, nap } = eventNap();
  const unwatch = host.watchEvents(domid, (e) => {
    if (e.event === "DUMP_COMPLETED") wake();
  });
  try {
    await host.command(domid, "dump-guest-memory", { paging: false, protocol: `file:${path}`, detach: true, format: "elf" }).catch((error: unknown) => {
      const refused = error instanceof XvmError && error.code === "QEMU_COMMAND";
      throw new XvmError("DUMP_FAILED", { detail: refused ? String(error.params.detail) : error instanceof Error ? error.message : String(error) });
    });
    for (;;) {
      const q = await host.command<{ status: string; completed: number; total: number }>(domid, "query-dump");
      options.onProgress?.(q.completed, q.total);
      if (q.status === "completed") break;
      if (q.status === "failed" || q.status === "none") throw new XvmError("DUMP_FAILED", { detail: `QEMU could not write ${path}` });
      await nap(100);
    }
  } finally {
    unwatch();
  }
  if (host.user) chownSync(path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
}
