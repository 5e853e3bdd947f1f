/**
 * The accelerator for `config/qemu-accel`: `kvm`, `tcg`, or `auto` = KVM only when the host has
 * hardware KVM (the kvm_amd or kvm_intel module). Some hosts expose a /dev/kvm that is not
 * hardware virtualization (PVM: only `kvm` and `kvm_pvm` are loaded); an unmodified kernel runs
 * about 1000 times slower there than under TCG, and QEMU cannot tell: it "starts" fine.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { XvmError } from "../../errors.ts";

export type Accel = "kvm" | "tcg";

export function hardwareKvm(sysModule = "/sys/module"): boolean {
  return (existsSync(`${sysModule}/kvm_amd`) || existsSync(`${sysModule}/kvm_intel`)) && existsSync("/dev/kvm");
}

export function resolveAccel(setting: string, sysModule?: string): Accel {
  if (setting === "kvm" || setting === "tcg") return setting;
  if (setting === "" || setting === "auto") return hardwareKvm(sysModule) ? "kvm" : "tcg";
  throw new XvmError("CONFIG_INVALID", { property: "qemu-accel", detail: `'${setting}' is not auto, kvm or tcg` });
}

/**
 * config/qemu-user: "" keeps QEMU as xend's own user (the default: disks, kernels and the dump
 * directory are then reachable with xend's rights, and the sandbox already denies QEMU setuid,
 * spawning and new privileges). A user name runs QEMU as that user (started through setpriv, so
 * QEMU itself never changes ids): only when xend runs as root.
 */
export function resolveUser(name: string): { uid: number; gid: number } | undefined {
  if (name === "") return undefined;
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new XvmError("CONFIG_INVALID", { property: "qemu-user", detail: `QEMU can run as '${name}' only when xend runs as root` });
  }
  try {
    const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8", timeout: 5_000 }).trim());
    const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8", timeout: 5_000 }).trim());
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("no ids");
    return { uid, gid };
  } catch {
    throw new XvmError("CONFIG_INVALID", { property: "qemu-user", detail: `no user named '${name}'` });
  }
}
