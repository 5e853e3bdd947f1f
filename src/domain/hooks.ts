/**
 * The domain events plugins hook into (re-exported by the plugin contract, src/plugin/contract.ts):
 * declared here, beside the domains they are about, so the domain manager that fires them does not
 * depend on the plugin folder.
 */
import type { DomainCreateRequest, DomainSummary } from "./types.ts";

/**
 * Hooks fired by the core. Each is optional; hooks of different plugins run in registration order
 * and are awaited one after the other, so a plugin may only depend on plugins registered before it.
 * A hook that throws is logged under the plugin's name and marks the daemon degraded until it next
 * succeeds; the other plugins' hooks still run. The `domainPre*` hooks are different: a throw there
 * refuses the operation, reaches the caller with the plugin's message, and stops the dispatch.
 */
export interface Hooks {
  /**
   * Once at start, after every plugin is set up and the domain manager has re-attached to the
   * guests that outlived the previous daemon (during `setup`, `ctx.domains.list()` does not show
   * them yet: plugins are set up first so that their hooks see what the re-attach finds).
   */
  daemonReady(): void | Promise<void>;
  /**
   * Before a domain is created or started, once its memory need is known. Ballooning plugins free
   * memory here; plugins may fill in defaults in `request.config` and set `request.placement`;
   * throwing refuses the creation and nothing is created.
   */
  domainPreCreate(request: DomainCreateRequest): void | Promise<void>;
  /**
   * Before a domain's memory target changes (`xm mem-set`; Domain-0 included), with the new target.
   * Ballooning plugins free memory for a guest that grows and keep Domain-0 above its minimum;
   * throwing refuses and nothing changes. For Domain-0 the manager then records the target as
   * Domain-0's memory (as {@link DomainManager.setHostResources} would).
   */
  domainPreMemoryChange(domain: DomainSummary, targetMiB: number): void | Promise<void>;
  /** A domain was created (or started) and is running or paused. */
  domainCreated(domain: DomainSummary): void | Promise<void>;
  /** A domain was destroyed (its resources are gone). */
  domainDestroyed(domain: DomainSummary): void | Promise<void>;
  /**
   * A domain crashed. Fired before its on_crash action runs, with the guest still intact (dumps).
   * `wantDump` is true when its on_crash action is coredump-destroy or coredump-restart.
   */
  domainCrashed(domain: DomainSummary, info: { wantDump: boolean }): void | Promise<void>;
  /** A guest shut down (poweroff, reboot, halt, suspend), before its action runs. */
  domainShutdown(domain: DomainSummary, reason: string): void | Promise<void>;
  /** A domain's memory target changed (mem-set, ballooning). */
  domainMemoryChanged(domain: DomainSummary, targetMiB: number): void | Promise<void>;
  /** A domain arrived from another host (live migration), after it was started here. */
  domainMigratedIn(domain: DomainSummary, from: string): void | Promise<void>;
  /** A domain left for another host; it is destroyed here right after. */
  domainMigratedOut(domain: DomainSummary, to: string): void | Promise<void>;
}
