/**
 * Where `xm suspend` keeps a managed domain's saved state: `checkpoint.chk` in the domain's folder
 * under var/lib/xend/domains/<uuid>/, the name xend 3.4 used (XendDomain.domain_suspend). A managed
 * domain with that file is suspended (XenAPI power state "suspended") until `xm resume` brings it
 * back and removes it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DomainModel } from "./model.ts";

export const CHECKPOINT_FILE = "checkpoint.chk";

export function checkpointPath(m: DomainModel, uuid: string): string {
  return join(m.store.dir, uuid, CHECKPOINT_FILE);
}

export function isSuspended(m: DomainModel, uuid: string): boolean {
  return existsSync(checkpointPath(m, uuid));
}
