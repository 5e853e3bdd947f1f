/**
 * What the domain manager keeps about each running guest (an {@link Active} record) and what it
 * stores with the guest in the driver's `meta` (a {@link GuestMeta}), so that a new daemon re-attaches
 * to the same guests with the same ids, names, uuids and configs.
 */
import type { GuestInfo } from "../hypervisor/driver.ts";
import type { DomainConfig } from "./types.ts";

/** xend [3.4] XendDomainInfo.MINIMUM_RESTART_TIME. */
export const MINIMUM_RESTART_TIME = 60;
export const DOM0_NAME = "Domain-0";
export const DOM0_UUID = "00000000-0000-0000-0000-000000000000";

export type FullConfig = DomainConfig & { uuid: string };

/** What the manager stores with a guest in the driver's meta. */
export interface GuestMeta {
  xvm: 1;
  config: FullConfig;
  managed: boolean;
  startTime: number;
  restartCount: number;
  previousRestartTime?: number;
}

export interface Active {
  domid: number;
  config: FullConfig;
  managed: boolean;
  startTime: number;
  restartCount: number;
  previousRestartTime?: number;
  /** Memory the guest was given, KiB (kept here so accounting needs no round trip). */
  targetKiB: number;
  /** Last answer of the driver: used when the guest cannot answer (runner gone). */
  info?: GuestInfo;
  /** The runner vanished; the record stays only if on_crash kept it (preserve). */
  lost: boolean;
  /** Being destroyed by the manager. */
  dying: boolean;
  /** Gone from the hypervisor; still listed (dying) while a restart replaces it. */
  destroyed?: boolean;
  /** Its shutdown or crash was handled (so an event seen twice, or a late lost, acts once). */
  stopHandled: boolean;
  stopReason?: string;
  watchers: Set<ConsoleSubscriber>;
  /**
   * A shutdown or reboot was asked of the guest (xend 3.4's shutdownStartTime): once
   * SHUTDOWN_TIMEOUT passes with the guest still up, `unresponsive` is set (3.4's
   * xend/unresponsive) and `xm shutdown -w` stops waiting. In memory only.
   */
  shutdownRequest?: { at: number; timer: ReturnType<typeof setTimeout>; unresponsive?: boolean };
}

/** Seconds a guest has to act on a shutdown request before xend calls it unresponsive (xend 3.4's SHUTDOWN_TIMEOUT). */
export const SHUTDOWN_TIMEOUT = 30;

export interface ConsoleSubscriber {
  data(text: string): void;
  end(reason: string): void;
}

export function isMeta(meta: unknown): meta is GuestMeta {
  const m = meta as Partial<GuestMeta> | undefined;
  return !!m && m.xvm === 1 && typeof m.config === "object" && m.config !== null && typeof m.config.name === "string";
}

export function metaOf(rec: Active): GuestMeta {
  const meta: GuestMeta = { xvm: 1, config: rec.config, managed: rec.managed, startTime: rec.startTime, restartCount: rec.restartCount };
  if (rec.previousRestartTime !== undefined) meta.previousRestartTime = rec.previousRestartTime;
  return meta;
}

export function mib(kib: number): number {
  return Math.floor(kib / 1024);
}
