/**
 * The sim driver's save and restore (HypervisorDriver.saveTo / restoreFrom): the runner writes and
 * reads the payload itself (commands/save.ts), so guest memory goes between the runner and the
 * file without passing through xend.
 */
import { errorMessage } from "../../errors.ts";
import type { GuestInfo, GuestSpec, RestoreOptions, SaveOptions, SavedState } from "../driver.ts";
import type { CallOptions, CallResult } from "./runner-client.ts";

type Call = (domid: number, cmd: string, args?: Record<string, unknown>, options?: CallOptions) => Promise<CallResult>;

export async function saveTo(call: Call, domid: number, path: string, options: SaveOptions): Promise<SavedState> {
  const { result } = await call(domid, "saveState", { path }, {
    timeoutMs: 0,
    onProgress: (p) => options.onProgress?.(Number(p.done), Number(p.total)),
  });
  return result as SavedState;
}

export interface RestoreDeps {
  call: Call;
  create(spec: GuestSpec): Promise<GuestInfo>;
  destroy(domid: number): Promise<void>;
  info(domid: number): Promise<GuestInfo>;
  log?(line: string): void;
}

/** Starts the guest paused, loads its state; destroys it again if the state does not load. */
export async function restoreFrom(deps: RestoreDeps, path: string, spec: GuestSpec, options: RestoreOptions): Promise<GuestInfo> {
  await deps.create({ ...spec, paused: true });
  try {
    await deps.call(spec.domid, "restoreState", { path, offset: options.offset, bytes: options.bytes, sha256: options.sha256 }, {
      timeoutMs: 0,
      onProgress: (p) => options.onProgress?.(Number(p.done), Number(p.total)),
    });
  } catch (error) {
    await deps.destroy(spec.domid).catch((e) => deps.log?.(`cannot destroy domain ${spec.domid} after a failed restore: ${errorMessage(e)}`));
    throw error;
  }
  return deps.info(spec.domid);
}
