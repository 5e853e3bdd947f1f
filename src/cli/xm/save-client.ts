/**
 * The client side shared by xm save, restore, suspend and resume: POST with progress, progress
 * lines on standard error (./transfer-progress.ts), errors as xm prints them with the exit status
 * of the error table.
 */
import type { Writable } from "node:stream";
import { XvmError } from "../../errors.ts";
import type { Paths } from "../../paths.ts";
import type { SaveProgress } from "../../domain/types.ts";
import { ApiError } from "./base.ts";
import { withRestartWait } from "./daemon-wait.ts";
import { type ProgressRequestError, postWithProgress } from "./progress.ts";
import { TransferProgress } from "./transfer-progress.ts";

/** The words for each phase of a save or restore: `Saving web1`, `Checking /x.save`, `Loading web1`. */
export type PhaseLabels = Record<SaveProgress["phase"], string>;

export async function runWithProgress<R>(paths: Paths, route: string, body: Record<string, unknown>, labels: PhaseLabels, stderr: Writable): Promise<R> {
  const view = new TransferProgress(stderr);
  try {
    // Waits while xend restarts (a refused connection sent nothing, so trying again is safe).
    return await withRestartWait(paths, () => postWithProgress<SaveProgress, R>(
      paths.controlSocket, route, body,
      (p) => view.update(labels[p.phase] ?? p.phase, p.done, p.total),
      "the daemon closed the connection before the operation finished (xm list shows what became of the domain)",
    ));
  } catch (error) {
    if (error instanceof XvmError) throw error;
    const e = error as ProgressRequestError & NodeJS.ErrnoException;
    if (e.code === "ENOENT" || e.code === "ECONNREFUSED") {
      throw new XvmError("DAEMON_NOT_RUNNING", { root: paths.root, socket: paths.controlSocket });
    }
    if (typeof e.status === "number") throw new ApiError(e.code ?? "XVM_INTERNAL", e.message, e.status);
    throw error;
  } finally {
    view.end();
  }
}
