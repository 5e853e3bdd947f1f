/**
 * Hypervisor drivers by name (`config/hypervisor`). Each entry imports its driver lazily, so a
 * daemon configured for one driver never loads another's code, and the string-literal imports
 * keep every driver inside the compiled binary.
 */
import { XvmError, errorMessage } from "../errors.ts";
import type { Paths } from "../paths.ts";
import type { Logger } from "../logger.ts";
import type { HypervisorDriver } from "./driver.ts";

export interface DriverOptions {
  paths: Paths;
  log: Logger;
  /** The daemon's own properties in force (config/qemu-accel and the like), by name. */
  settings?: Record<string, unknown>;
}

export type DriverFactory = (options: DriverOptions) => HypervisorDriver | Promise<HypervisorDriver>;

const factories = new Map<string, DriverFactory>([
  ["sim", async ({ paths }) => (await import("./sim/driver.ts")).createSimDriver({ paths })],
  ["qemu", async ({ paths, settings }) =>
    (await import("./qemu/driver.ts")).createQemuDriver({
      paths,
      binary: String(settings?.["qemu-binary"] ?? ""),
      accel: String(settings?.["qemu-accel"] ?? "auto"),
      user: String(settings?.["qemu-user"] ?? ""),
    })],
]);

/** Adds (or replaces) a driver; tests register fakes this way. */
export function registerDriver(name: string, factory: DriverFactory): void {
  factories.set(name, factory);
}

export function driverNames(): string[] {
  return [...factories.keys()];
}

export async function createDriver(name: string, options: DriverOptions): Promise<HypervisorDriver> {
  const factory = factories.get(name);
  if (!factory) {
    throw new XvmError("CONFIG_INVALID", {
      property: "hypervisor",
      detail: `no hypervisor driver named "${name}" (known: ${driverNames().join(", ") || "none"})`,
    });
  }
  return factory(options);
}

/**
 * Stands in for a driver that could not be created, so the daemon still serves its API and its
 * plugins (degraded): every operation reports why there is no hypervisor.
 */
export function unavailableDriver(name: string, reason: unknown): HypervisorDriver {
  return new Proxy({ name } as HypervisorDriver, {
    get(target, prop) {
      if (prop === "name") return target.name;
      if (prop === "then") return undefined;
      if (prop === "subscribe") return () => () => undefined;
      if (prop === "close") return async () => undefined;
      return async () => {
        throw new XvmError("HYPERVISOR_UNAVAILABLE", { name, detail: errorMessage(reason) });
      };
    },
  });
}
