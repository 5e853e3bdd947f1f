/**
 * The sim driver's migration operations (HypervisorDriver.prepareIncoming / migrateOut /
 * finishMigrateOut / memoryDigest) over the runner commands in ../commands/migrate.ts. The runner
 * calls are long: no call timeout; the streams keep their own.
 */
import { XvmError, errorMessage } from "../../../errors.ts";
import type {
  IncomingMigration, IncomingOptions, MemoryDigest, MigrateOutOptions, MigrationEndpoint, MigrationProgress, MigrationStats,
} from "../../driver.ts";
import type { CallOptions, CallResult } from "../runner-client.ts";

export type RunnerCall = (domid: number, cmd: string, args?: Record<string, unknown>, options?: CallOptions) => Promise<CallResult>;

export function prepareIncoming(call: RunnerCall, domid: number, options: IncomingOptions): Promise<IncomingMigration> {
  return new Promise<IncomingMigration>((resolve, reject) => {
    let listening = false;
    let onVerified!: (stats: MigrationStats) => void;
    let onFailed!: (error: Error) => void;
    const verified = new Promise<MigrationStats>((res, rej) => {
      onVerified = res;
      onFailed = rej;
    });
    verified.catch(() => {});
    const args: Record<string, unknown> = { bind: options.bindAddress };
    if (options.allowFrom) args.allowFrom = options.allowFrom;
    if (options.timeoutMs !== undefined) args.timeoutMs = options.timeoutMs;
    const finished = call(domid, "migrateIn", args, {
      timeoutMs: 0,
      onProgress: (p) => {
        const at = p.listening as { host: string; port: number; token: string } | undefined;
        if (at && !listening) {
          listening = true;
          resolve({
            endpoint: { host: at.host, port: at.port, token: at.token },
            verified,
            commit: async (start) => {
              await call(domid, "migrateInCommit", { start });
              await finished;
            },
            abort: async (reason) => {
              await call(domid, "migrateInAbort", { reason }).catch(() => {});
            },
          });
        }
        if (p.verified) onVerified(p.verified as MigrationStats);
      },
    });
    finished.then(
      (r) => onVerified(r.result as MigrationStats),
      (error: Error) => {
        onFailed(error);
        if (!listening) reject(error);
      },
    );
  });
}

export async function migrateOut(call: RunnerCall, domid: number, target: MigrationEndpoint, options: MigrateOutOptions): Promise<MigrationStats> {
  const args: Record<string, unknown> = {
    host: target.host,
    port: target.port,
    token: target.token,
    live: options.live,
    maxDowntimeMs: Math.round(options.maxDowntimeMs),
  };
  if (options.maxIterations !== undefined) args.maxIterations = options.maxIterations;
  if (options.maxFactor !== undefined) args.maxFactor = options.maxFactor;
  if (options.autoConverge !== undefined) args.autoConverge = options.autoConverge;
  if (options.maxBandwidth) args.maxBandwidth = Math.round(options.maxBandwidth);
  if (options.restore) args.restore = options.restore;
  const cancel = () => void call(domid, "migrateOutCancel", { reason: String(options.signal?.reason ?? "cancelled") }).catch(() => {});
  if (options.signal?.aborted) throw new XvmError("MIGRATE_FAILED", { dom: domid, detail: String(options.signal.reason ?? "cancelled") });
  options.signal?.addEventListener("abort", cancel, { once: true });
  try {
    const r = await call(domid, "migrateOut", args, {
      timeoutMs: 0,
      onProgress: (p) => {
        if (p.migration) options.onProgress?.(p.migration as MigrationProgress);
      },
    });
    return r.result as MigrationStats;
  } catch (error) {
    if (error instanceof XvmError) throw error;
    throw new XvmError("MIGRATE_FAILED", { dom: domid, detail: errorMessage(error) });
  } finally {
    options.signal?.removeEventListener("abort", cancel);
  }
}

export async function finishMigrateOut(call: RunnerCall, domid: number, committed: boolean): Promise<{ committed: boolean }> {
  const r = (await call(domid, "migrateOutFinish", { committed })).result as { committed?: boolean } | null;
  // A runner from before the commit exchange answers nothing: the request was done as asked.
  return { committed: typeof r?.committed === "boolean" ? r.committed : committed };
}

export async function memoryDigest(call: RunnerCall, domid: number): Promise<MemoryDigest> {
  return (await call(domid, "memoryDigest", {}, { timeoutMs: 120_000 })).result as MemoryDigest;
}
