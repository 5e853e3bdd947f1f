/**
 * The accelerator for `config/qemu-accel`: `kvm`, `tcg`, or `auto` = KVM only when the host has
 * hardware KVM (the kvm_amd or kvm_intel module). Some hosts expose a /dev/kvm that is not
 * hardware virtualization (PVM: only `kvm` and `kvm_pvm` are loaded); an unmodified kernel runs
 * about 1000 times slower there than under TCG, and QEMU cannot tell: it "starts" fine.
 */
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
