/**
 * The qemu e2e tests' guest: Debian's cloud kernel and a busybox initramfs built by
 * examples/qemu/build-guest.sh into a folder every test shares (cached across runs), and the
 * reason to skip when this machine has no QEMU (CI installs it: .ci/run).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const GUEST_DIR = process.env.XVM_QEMU_GUEST_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "xvm", "qemu-guest");
const SCRIPT = new URL("../../examples/qemu/build-guest.sh", import.meta.url).pathname;

/** Why the qemu tests cannot run here (no QEMU), or undefined when they can. */
export function qemuSkipReason(): string | undefined {
  try {
    execFileSync("qemu-system-x86_64", ["--version"], { stdio: "ignore", timeout: 20_000 });
    return undefined;
  } catch {
    return "QEMU is not installed (qemu-system-x86_64 not found; .ci/run installs qemu-system-x86)";
  }
}

/**
 * Builds the guest unless the shared folder has it (.ci/run builds it before the tests). A guest
 * that cannot be built is a failure, not a skip: QEMU is there, so the tests must run.
 */
export function ensureGuest(): void {
  if (existsSync(join(GUEST_DIR, "vmlinuz")) && existsSync(join(GUEST_DIR, "initrd.img"))) return;
  execFileSync(SCRIPT, [GUEST_DIR], { stdio: ["ignore", "ignore", "pipe"], timeout: 300_000 });
}

export const guestKernel = (): string => join(GUEST_DIR, "vmlinuz");
export const guestInitrd = (): string => join(GUEST_DIR, "initrd.img");

/** An xm config for the test guest; `extra` lines are appended as they are. */
export function guestConfig(name: string, extra: string[] = []): string {
  return [
    `name = "${name}"`,
    `kernel = "${guestKernel()}"`,
    `ramdisk = "${guestInitrd()}"`,
    `extra = "quiet"`,
    ...extra,
    "",
  ].join("\n");
}

/** What the test guest's init prints once it is up. */
export const INIT_READY = "xvm-guest: init ready";
