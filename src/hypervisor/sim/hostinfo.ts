/** What the simulated hypervisor reports about itself and this host (`xm info`). */
import { readFileSync } from "node:fs";
import { cpus, freemem, hostname, machine, release, totalmem, version } from "node:os";
import type { PhysInfo } from "../driver.ts";
import { PAGE_SIZE } from "./memory.ts";

/**
 * The Xen version the simulator claims (in `xm info` and in core files). 3.4 is the Xen that
 * Solaris xVM last shipped; `extra` says plainly that this is the simulator.
 */
export const SIM_XEN_VERSION = { major: 3, minor: 4, extra: ".0-xvm-sim" } as const;
export const SIM_CAPS = ["xen-3.0-x86_64", "xen-3.0-x86_32p"];

interface Topology {
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
}

/** Sockets, cores and threads from /proc/cpuinfo; a flat 1-socket layout when it says nothing. */
export function topology(cpuinfo: string | undefined, nrCpus: number): Topology {
  const fallback = { sockets: 1, coresPerSocket: nrCpus, threadsPerCore: 1 };
  if (!cpuinfo) return fallback;
  const ids = new Set([...cpuinfo.matchAll(/^physical id\s*:\s*(\d+)/gm)].map((m) => m[1]));
  const cores = Number(/^cpu cores\s*:\s*(\d+)/m.exec(cpuinfo)?.[1]);
  const siblings = Number(/^siblings\s*:\s*(\d+)/m.exec(cpuinfo)?.[1]);
  if (!ids.size || !cores || !siblings) return fallback;
  return { sockets: ids.size, coresPerSocket: cores, threadsPerCore: Math.max(1, Math.round(siblings / cores)) };
}

/** Host facts; `guestKiB` is what running guests hold (subtracted from the free memory). */
export function hostPhysInfo(guestKiB: number): PhysInfo {
  const list = cpus();
  let cpuinfo: string | undefined;
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    cpuinfo = undefined;
  }
  const topo = topology(cpuinfo, list.length);
  const totalKiB = Math.floor(totalmem() / 1024);
  return {
    hostname: hostname(),
    release: release(),
    version: version(),
    machine: machine(),
    nrCpus: list.length,
    nrNodes: 1,
    coresPerSocket: topo.coresPerSocket,
    threadsPerCore: topo.threadsPerCore,
    socketsPerNode: topo.sockets,
    cpuMhz: Math.round(list[0]?.speed ?? 0),
    totalMemoryKiB: totalKiB,
    // Guest memory is committed lazily by the host, so the host's own free figure says little:
    // what is free for new guests is the total minus what running guests were given, capped by
    // what the host really has free.
    freeMemoryKiB: Math.max(0, Math.min(totalKiB - guestKiB, Math.floor(freemem() / 1024))),
    pageSize: PAGE_SIZE,
    hypervisor: { name: "sim", major: SIM_XEN_VERSION.major, minor: SIM_XEN_VERSION.minor, extra: SIM_XEN_VERSION.extra, caps: [...SIM_CAPS] },
  };
}
