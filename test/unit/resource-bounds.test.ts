/**
 * issue 13 §4, resource bounds: the control API's body limit (1 MiB, before any route reads it,
 * plugin routes included), a domain config's strings and lists (extra, vifs, disks, the settings
 * kept for round trips), and the MAC assignment's bounded search.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createControlApi, MAX_BODY_BYTES } from "../../src/daemon/control-api.ts";
import { checkDomainConfig, MAX_CMDLINE, MAX_DISKS, MAX_VIFS } from "../../src/domain/config-spec.ts";
import type { DomainConfig } from "../../src/domain/types.ts";
import { uniqueXenMac } from "../../plugins/default-nic/vifs.ts";
import { captureLogger } from "../helpers/plugin-host.ts";

function app(seen: number[]): Hono {
  const plugin = new Hono({ strict: false }).basePath("/plugins/web");
  plugin.post("/echo", async (c) => {
    const text = await c.req.text();
    seen.push(text.length);
    return c.json({ bytes: text.length });
  });
  const domains = new Hono();
  domains.post("/", async (c) => {
    const text = await c.req.text();
    seen.push(text.length);
    return c.json({ bytes: text.length });
  });
  return createControlApi({
    status: () => ({ pid: 1, root: "/r", state: "online", reasons: [], startedAt: "", version: "0", runtime: "x" }),
    plugins: () => [],
    config: () => ({}),
    refresh: async () => ({ state: "online", reasons: [], changes: {} }),
    pluginRoutes: (name) => (name === "web" ? { routes: plugin, state: "running" } : undefined),
    domains,
    version: "0",
    log: captureLogger([])("xend.api"),
  });
}

describe("the control API body limit", () => {
  it("refuses a body over 1 MiB with 413 BODY_TOO_LARGE before any route reads it; 1 MiB passes", async () => {
    expect(MAX_BODY_BYTES).toBe(1 << 20);
    const seen: number[] = [];
    const a = app(seen);
    for (const path of ["/domains", "/plugins/web/echo"]) {
      const big = await a.request(path, { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1), headers: { "content-type": "application/json" } });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ code: "BODY_TOO_LARGE", message: `request body too large: at most ${MAX_BODY_BYTES} bytes` });
      const ok = await a.request(path, { method: "POST", body: "x".repeat(MAX_BODY_BYTES), headers: { "content-type": "application/json" } });
      expect(ok.status).toBe(200);
    }
    expect(seen).toEqual([MAX_BODY_BYTES, MAX_BODY_BYTES]);
  });

  it("counts a chunked body (no content-length) as it streams", async () => {
    const seen: number[] = [];
    const chunk = new Uint8Array(256 * 1024).fill(120);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 8) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const res = await app(seen).request("/domains", { method: "POST", body: stream, headers: { "transfer-encoding": "chunked" }, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(seen).toEqual([]);
    // It stopped reading once over the limit.
    expect(sent).toBeLessThan(8);
  });
});

function config(extra: Partial<DomainConfig> = {}): DomainConfig {
  return { name: "g", memory: 64, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [], ...extra };
}

describe("domain config bounds", () => {
  it("extra and root: at most the guest command line (1024); vifs at most 8, disks at most 16", () => {
    expect(checkDomainConfig(config({ extra: "x".repeat(MAX_CMDLINE) }))).toEqual([]);
    expect(checkDomainConfig(config({ extra: "x".repeat(MAX_CMDLINE + 1), root: "r".repeat(5000) }))).toEqual([
      { field: "extra", message: "is 1025 characters long; the guest command line holds at most 1024" },
      { field: "root", message: "is 5000 characters long; the guest command line holds at most 1024" },
    ]);
    expect(MAX_VIFS).toBe(8);
    expect(checkDomainConfig(config({ vif: Array.from({ length: 8 }, () => ({})) }))).toEqual([]);
    expect(checkDomainConfig(config({ vif: Array.from({ length: 9 }, () => ({})) }))).toEqual([
      { field: "vif", message: "has 9 entries; a domain has at most 8 network interfaces" },
    ]);
    expect(checkDomainConfig(config({ disk: Array.from({ length: MAX_DISKS + 1 }, (_, i) => `file:/d${i},xvd${i},w`) }))).toEqual([
      { field: "disk", message: "has 17 entries; a domain has at most 16 disks" },
    ]);
  });

  it("every other string and the kept settings are bounded too", () => {
    const problems = checkDomainConfig(config({
      kernel: `/k/${"k".repeat(5000)}`,
      description: "d".repeat(4097),
      vif: [{ bridge: "b".repeat(4097) }],
      disk: [`file:/${"p".repeat(5000)},xvda,w`],
      extraKeys: { blob: "z".repeat(70_000) },
    }));
    expect(problems.map((p) => p.field)).toEqual(["kernel", "description", "vif[0].bridge", "disk[0]", "extraKeys"]);
  });
});

describe("MAC assignment", () => {
  it("is bounded: 64 random draws, then a walk that finds the first free address", () => {
    let draws = 0;
    const always0 = () => {
      draws++;
      return 0;
    };
    const taken = new Set(["00:16:3e:00:00:00", "00:16:3e:00:00:01"]);
    expect(uniqueXenMac(taken, always0)).toBe("00:16:3e:00:00:02");
    expect(draws).toBe(64 * 3);
  });
});
