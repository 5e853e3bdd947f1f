/**
 * Refresh (svcadm refresh, svccfg refresh): commit the instance's composed editing values to its
 * `running` snapshot — what the daemon reads — then tell the restarter to make the daemon reread.
 */
import { instanceFmri } from "./fmri.ts";
import { takeSnapshot } from "./model.ts";
import type { Repository } from "./repository.ts";
import { notifyRestarter } from "./restarter-client.ts";

/** Takes the `running` snapshot of service:instance; false if there is no such instance. */
export function snapshotRunning(repo: Repository, service: string, instance: string): boolean {
  return repo.update((data) => {
    if (!data.services[service]?.instances[instance]) return false;
    takeSnapshot(data, service, instance, "running");
    return true;
  }).result;
}

/** Snapshot, then notify the restarter (if one runs). False if there is no such instance. */
export async function refreshInstance(repo: Repository, service: string, instance: string): Promise<boolean> {
  if (!snapshotRunning(repo, service, instance)) return false;
  await notifyRestarter(repo.paths, instanceFmri(service, instance), "refresh");
  return true;
}
