/**
 * Properties of the daemon itself (not of a plugin), declared like a plugin's so they appear in
 * the repository, `svccfg describe` and `svccfg export` the same way.
 */
import { DEFAULT_XEND_LOG } from "../paths.ts";
import type { PropertyDecls } from "./contract.ts";

export const CORE_OWNER = "xend";

export const CORE_PROPERTIES = {
  logfile: {
    type: "astring",
    default: DEFAULT_XEND_LOG,
    description: "xend's log file (under the state root), rotated at 1 MiB keeping 5.",
  },
  loglevel: {
    type: "astring",
    default: "DEBUG",
    values: ["TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
    description: "Lowest level written to xend.log.",
  },
  "plugin-path": {
    type: "astring",
    default: "/usr/lib/xvm/plugins",
    description: "Colon-separated directories (under the state root) searched for external plugins at start.",
  },
  hypervisor: {
    type: "astring",
    default: "sim",
    values: ["sim", "qemu"],
    description: "Hypervisor driver: `sim` is the embedded simulated hypervisor; `qemu` runs each guest in its own qemu-system-x86_64 (docs/qemu.md).",
  },
  "qemu-accel": {
    type: "astring",
    default: "auto",
    values: ["auto", "kvm", "tcg"],
    description: "Accelerator of qemu guests: auto = KVM only when the host has hardware KVM (kvm_amd or kvm_intel loaded), else TCG.",
  },
  "qemu-user": {
    type: "astring",
    default: "",
    description: "User qemu guests' QEMU runs as; empty = xend's own user. Another user needs xend to run as root (docs/qemu.md).",
  },
  "qemu-binary": {
    type: "astring",
    default: "qemu-system-x86_64",
    description: "The QEMU program qemu guests run in (a name looked up in PATH, or an absolute path).",
  },
  "metrics-address": {
    type: "astring",
    default: "",
    check: (value) => (value === "" || parseMetricsAddress(value) ? undefined : "expected HOST:PORT (e.g. 127.0.0.1:9464, [::1]:9464, or :9464 for every interface), or empty"),
    description: "Also serve GET /metrics (Prometheus text) over TCP at HOST:PORT (`:PORT` = every interface); empty = only on the control socket.",
  },
} as const satisfies PropertyDecls;

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every interface) -> hostname (undefined = every interface) and port. */
export function parseMetricsAddress(value: string): { hostname: string | undefined; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:\[\]]*)):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? "";
  return { hostname: host === "" ? undefined : host, port };
}
