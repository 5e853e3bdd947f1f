/**
 * Placeholder: the domain manager arrives with the domains issue (issue 4). The daemon calls
 * createDomainManager at start; until then every operation reports "not implemented".
 */
import { XvmError } from "../errors.ts";
import type { HypervisorDriver } from "../hypervisor/driver.ts";
import type { Paths } from "../paths.ts";
import type { Hooks, Logger } from "../plugin/contract.ts";
import type { DomainManager } from "./types.ts";

export interface DomainManagerOptions {
  driver: HypervisorDriver;
  paths: Paths;
  log: Logger;
  /** Fires a hook on every plugin, in registration order, awaiting each. */
  fire<K extends keyof Hooks>(hook: K, ...args: Parameters<Hooks[K]>): Promise<void>;
}

export interface DomainManagerHandle extends DomainManager {
  /** Re-attach to guests that outlived a previous daemon; start managed auto-start domains. */
  attach(): Promise<void>;
  /** Stop watching guests (guests keep running). */
  close(): Promise<void>;
}

export function createDomainManager(_options: DomainManagerOptions): DomainManagerHandle {
  const nope = (): never => {
    throw new XvmError("XVM_NOT_IMPLEMENTED", { what: "the domain manager" });
  };
  return new Proxy({} as DomainManagerHandle, {
    get(_target, prop) {
      if (prop === "attach" || prop === "close") return async () => undefined;
      if (prop === "then") return undefined;
      return nope;
    },
  });
}
