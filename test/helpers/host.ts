/**
 * Shared steps of the host-resource end-to-end tests: run the compiled binary on a root (directly
 * or inside a network namespace), change properties live (svccfg setprop + svcadm refresh, waiting
 * until xend has applied the refresh), and read `xm info`, `xm list` and `xm vcpu-list`.
 */
import { logWithoutLineNos } from "./log-lines.ts";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { run, waitFor, xvmBin, type RunResult } from "./cli.ts";

export interface Xvm {
  root: string;
  (...args: string[]): RunResult;
}

/** The binary on `root` (with extra environment, e.g. XVM_SYSFS_NET for a fake link tree). */
export function onRoot(root: string, env?: Record<string, string>): Xvm {
  return Object.assign((...args: string[]) => run(args, { root, env }), { root });
}

/** The binary on `root`, inside network namespace `ns` (`ip netns exec`: its own /sys too). */
export function inNamespace(ns: string, root: string): Xvm {
  return Object.assign(
    (...args: string[]): RunResult => {
      const r = spawnSync("ip", ["netns", "exec", ns, xvmBin(), ...args], {
        env: { ...process.env, XVM_ROOT: root, TZ: "UTC" },
        encoding: "utf8",
        timeout: 60_000,
      });
      if (r.error) throw r.error;
      return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
    },
    { root },
  );
}

export function ok(r: RunResult): string {
  if (r.code !== 0) throw new Error(`exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

export function expectFail(r: RunResult, stderr: string | RegExp): void {
  expect(r.code, r.stdout).not.toBe(0);
  if (typeof stderr === "string") expect(r.stderr).toContain(stderr);
  else expect(r.stderr).toMatch(stderr);
}

/** xend.log, each line's location without its line number (test/helpers/log-lines.ts). */
export function xendLog(root: string): string {
  const path = join(root, "var/log/xen/xend.log");
  return existsSync(path) ? logWithoutLineNos(readFileSync(path, "utf8")) : "";
}

export function daemonPid(root: string): number {
  return Number.parseInt(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8"), 10);
}

const refreshes = (root: string) => (xendLog(root).match(/refresh done/g) ?? []).length;

/** Sets properties and refreshes; returns once xend has logged that the refresh is done. */
export async function setLive(x: Xvm, props: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(props)) ok(x("svccfg", "-s", "xend", "setprop", `config/${name}`, "=", value));
  const before = refreshes(x.root);
  ok(x("svcadm", "refresh", "xend"));
  await waitFor(() => refreshes(x.root) > before, "xend to apply the refresh");
}

export function svcState(x: Xvm): string {
  return ok(x("svcs", "-H", "-o", "state", "xend")).trim();
}

/** `svcs -x xend` once it mentions `text` (the restarter learns of xend's health a moment after a refresh). */
export async function explained(x: Xvm, text: string): Promise<string> {
  let last = "";
  await waitFor(() => (last = ok(x("svcs", "-x", "xend"))).includes(text), `svcs -x xend to say: ${text}`, 10_000).catch(() => undefined);
  expect(last).toContain(text);
  return last;
}

/** xend tells its restarter about its health after a refresh: wait for the state svcs shows. */
export async function waitState(x: Xvm, state: string): Promise<void> {
  await waitFor(() => svcState(x) === state, `svcs to show xend ${state}`, 10_000);
}

export function info(x: Xvm): Record<string, string> {
  return Object.fromEntries(
    ok(x("xm", "info"))
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const at = line.indexOf(":");
        return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
      }),
  );
}

export interface ListRow {
  id: string;
  mem: number;
  vcpus: number;
  state: string;
}

/** `xm list` rows by name. */
export function list(x: Xvm): Map<string, ListRow> {
  const rows = new Map<string, ListRow>();
  for (const line of ok(x("xm", "list")).split("\n").slice(1).filter(Boolean)) {
    const [id, mem, vcpus, state] = line.slice(40).trim().split(/\s+/);
    rows.set(line.slice(0, 40).trim(), { id: id!, mem: Number(mem), vcpus: Number(vcpus), state: state! });
  }
  return rows;
}

export interface VcpuRow {
  vcpu: number;
  cpu: string;
  affinity: string;
}

/** `xm vcpu-list <dom>` rows (Name ID VCPU CPU State Time(s) CPU-Affinity). */
export function vcpuList(x: Xvm, dom: string): VcpuRow[] {
  return ok(x("xm", "vcpu-list", dom))
    .split("\n")
    .slice(1)
    .filter(Boolean)
    .map((line) => {
      const f = line.slice(32).trim().split(/\s+/);
      return { vcpu: Number(f[1]), cpu: f[2]!, affinity: f.slice(5).join(" ") };
    });
}

/** A guest config file under the root; `xm create` takes its path. */
export function guestConfig(root: string, name: string, body: string): string {
  const path = join(root, `${name}.cfg`);
  writeFileSync(path, `name = "${name}"\nkernel = "sim:idle"\n${body}\n`);
  return path;
}
