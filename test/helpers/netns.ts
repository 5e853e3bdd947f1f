/**
 * Network namespaces of a test's own (iproute2), for tests that need real kernel links or
 * addresses other than 127.0.0.0/8 without touching the host's network. Needs root; a test that
 * cannot have them is skipped with the reason.
 */
import { spawnSync } from "node:child_process";

/** `ip <args>`: whether it succeeded, and why not. */
export function ip(...args: string[]): { ok: boolean; err: string } {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  return { ok: !r.error && r.status === 0, err: (r.error?.message ?? r.stderr ?? "").trim() };
}

/**
 * Adds the named namespaces. Returns why they cannot be had here (having deleted any it added),
 * or undefined when they all exist now; the caller deletes them with {@link deleteNamespaces}.
 */
export function addNamespaces(...names: string[]): string | undefined {
  if (process.platform !== "linux") return "not Linux";
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "needs root (ip netns add)";
  const added: string[] = [];
  for (const ns of names) {
    const r = ip("netns", "add", ns);
    if (!r.ok) {
      deleteNamespaces(...added);
      return `ip netns add failed: ${r.err}`;
    }
    added.push(ns);
  }
  return undefined;
}

export function deleteNamespaces(...names: string[]): void {
  for (const ns of names) ip("netns", "del", ns);
}
