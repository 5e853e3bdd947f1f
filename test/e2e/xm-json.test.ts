/**
 * `xm … --json` through the compiled binary: the documented objects (docs/xm-json.md), the same
 * the control API answers, for list, list -l, info, vcpu-list, uptime and network-list.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");

let root: string;
let xend: Xend | undefined;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-xm-json-"), { relocation: false });
  xend = await startXend(root);
  xmOk(root, "create", join(repo, "examples/counter.cfg"));
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

const json = (...args: string[]) => JSON.parse(xmOk(root, ...args, "--json")) as Record<string, unknown>;
const api = <T>(path: string) => unixJson<T>(join(root, "var/run/xend/control.sock"), "GET", path);

/**
 * Fields that move between two reads (CPU time, flags of a guest that runs now and then,
 * Domain-0's start time, derived from the host's uptime).
 */
function still<T extends Record<string, unknown>>(d: T): Partial<T> {
  const { cpuTime: _c, flags: _f, state: _s, vcpuInfo: _v, startTime: _t, ...rest } = d;
  return rest as Partial<T>;
}

describe("xm --json", () => {
  it("list prints the control API's domains, -l the same objects", async () => {
    const out = json("list") as { domains: Record<string, unknown>[] };
    const fromApi = await api<{ domains: Record<string, unknown>[] }>("/domains");
    expect(out.domains.map(still)).toEqual(fromApi.domains.map(still));
    expect(out.domains.map((d) => [d.domid, d.name, d.memory])).toEqual([[0, "Domain-0", expect.any(Number)], [1, "counter1", 128]]);
    const counter = out.domains[1]!;
    expect(counter).toMatchObject({ maxmem: 256, vcpus: 1, maxvcpus: 2, managed: false, config: { kernel: "sim:counter", on_crash: "preserve" } });
    expect(counter.state).toMatch(/^[r-][b-]----$/);
    const long = json("list", "-l", "counter1") as { domains: Record<string, unknown>[] };
    expect(long.domains.map(still)).toEqual([still(counter)]);
    expect(xmOk(root, "list", "--json").endsWith("}\n")).toBe(true);
  });

  it("an unknown domain is the usual error and nothing on stdout", () => {
    const r = xm(root, "list", "--json", "nope");
    expect(r).toEqual({ code: 1, stdout: "", stderr: "Error: Domain 'nope' does not exist.\n" });
  });

  it("info prints the node object; -c adds the configuration", async () => {
    const node = json("info");
    expect(node).toEqual(await api("/domains/0/node"));
    expect(Object.keys(node).slice(0, 1)).toEqual(["host"]);
    expect(typeof node.nr_cpus).toBe("number");
    const withConfig = json("info", "-c") as { node: unknown; config: Record<string, unknown> };
    expect(withConfig.node).toEqual(node);
    expect(withConfig.config).toEqual(await api("/config"));
  });

  it("vcpu-list prints each domain's vCPUs", () => {
    const out = json("vcpu-list", "counter1") as { domains: { domid: number; name: string; vcpus: Record<string, unknown>[] }[] };
    expect(out.domains).toHaveLength(1);
    expect(out.domains[0]).toMatchObject({ domid: 1, name: "counter1" });
    expect(out.domains[0]!.vcpus).toEqual([
      { number: 0, online: true, running: expect.any(Boolean), blocked: expect.any(Boolean), cpuTimeNs: expect.any(Number), cpu: expect.any(Number), affinity: [] },
      // maxvcpus = 2: the second is offline.
      { number: 1, online: false, running: false, blocked: false, cpuTimeNs: 0, cpu: -1, affinity: [] },
    ]);
  });

  it("uptime prints start time and whole seconds", () => {
    const out = json("uptime") as { domains: { name: string; startTime: number; uptime: number }[] };
    expect(out.domains.map((d) => d.name)).toEqual(["Domain-0", "counter1"]);
    const c = out.domains[1]!;
    expect(Number.isInteger(c.uptime)).toBe(true);
    expect(Math.abs(c.uptime - (Date.now() / 1000 - c.startTime))).toBeLessThan(600);
  });

  it("network-list prints the vifs", () => {
    // examples/counter.cfg names no bridge: config/default-nic's link, if this host has one.
    const { vifs, ...rest } = json("network-list", "counter1") as { vifs: Array<{ mac: string; bridge?: string }> };
    expect(rest).toEqual({ domid: 1, name: "counter1" });
    expect(vifs).toHaveLength(1);
    expect(vifs[0]!.mac).toBe("00:16:3e:00:00:01");
    expect(Object.keys(vifs[0]!).filter((k) => k !== "mac" && k !== "bridge")).toEqual([]);
  });
});
