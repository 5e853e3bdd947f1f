/**
 * Helpers for the xm end-to-end tests: start `xvm xend` (the compiled binary) on a temporary root,
 * run `xm`, read `xm list` back as rows, and read guests' consoles through the control API.
 */
import { join } from "node:path";
import { unixJson } from "../../src/runtime/http-client.ts";
import { pidAlive, run, waitFor, type RunResult } from "./cli.ts";
import { startXend, type XendProcess } from "./xend.ts";

/** xend as the xm tests use it: the one startXend of test/helpers/xend.ts. */
export type Xend = XendProcess;
export { startXend };

/** Kills xend with SIGKILL (its guests live on) and waits until it is gone. */
export async function killXend(xend: Xend): Promise<void> {
  process.kill(xend.pid, "SIGKILL");
  await waitFor(() => !pidAlive(xend.pid), "xend to die", 10_000);
}

export function xm(root: string, ...args: string[]): RunResult {
  return run(["xm", ...args], { root, timeoutMs: 60_000 });
}

/** `xm` that must succeed; returns its stdout. */
export function xmOk(root: string, ...args: string[]): string {
  const r = xm(root, ...args);
  if (r.code !== 0) throw new Error(`xm ${args.join(" ")} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface ListRow {
  name: string;
  id: string;
  mem: number;
  vcpus: number;
  state: string;
  time: number;
}

/** Reads `xm list` by its fixed columns (name 40, id 5, mem 5, vcpus 5, state 10, time 8). */
export function parseList(stdout: string): ListRow[] {
  const lines = stdout.split("\n").filter(Boolean);
  if (lines[0] !== "Name                                        ID   Mem VCPUs      State   Time(s)") throw new Error(`not xm list output: ${stdout}`);
  return lines.slice(1).map((l) => ({
    name: l.slice(0, 40).trimEnd(),
    id: l.slice(41, 46).trim(),
    mem: Number(l.slice(47, 52)),
    vcpus: Number(l.slice(53, 58)),
    state: l.slice(59, 69).trim(),
    time: Number(l.slice(70)),
  }));
}

export function listRows(root: string): ListRow[] {
  return parseList(xmOk(root, "list"));
}

/** name -> "id state" for quick comparisons. */
export function listMap(root: string): Record<string, string> {
  return Object.fromEntries(listRows(root).map((r) => [r.name, `${r.id} ${r.state}`]));
}

export async function consoleText(root: string, dom: string): Promise<string> {
  const r = await unixJson<{ text: string }>(join(root, "var/run/xend/control.sock"), "GET", `/domains/${encodeURIComponent(dom)}/console`);
  return r.text;
}

/** The heartbeat values a counter guest printed on its console. */
export function heartbeats(text: string): number[] {
  return [...text.matchAll(/^heartbeat (\d+)$/gm)].map((m) => Number(m[1]));
}

export async function lastHeartbeat(root: string, dom: string): Promise<number> {
  const beats = heartbeats(await consoleText(root, dom));
  return beats.length ? beats[beats.length - 1]! : -1;
}
