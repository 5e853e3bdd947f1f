import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { DomainCreateRequest, DomainSummary } from "../../src/domain/types.ts";
import { XvmError } from "../../src/errors.ts";
import { definePlugin, type ConfigChanges, type PluginContext, type PluginDefinition } from "../../src/plugin/contract.ts";
import { socketAnswers } from "../../src/runtime/serve.ts";
import { testHost } from "../helpers/plugin-host.ts";

/** A plugin that records its lifecycle into `events`. */
function recorder(name: string, events: string[], extra: Partial<PluginDefinition> = {}): PluginDefinition {
  return {
    name,
    setup() {
      events.push(`setup ${name}`);
      return { stop: () => void events.push(`stop ${name}`), refresh: () => void events.push(`refresh ${name}`) };
    },
    ...extra,
  } as PluginDefinition;
}

const domain = { name: "web1", domid: 3 } as DomainSummary;

describe("plugin host: order", () => {
  it("sets plugins up in registration order and stops them in reverse", async () => {
    const events: string[] = [];
    const { host, services, health } = testHost();
    for (const n of ["a", "b", "c"]) expect(host.register(recorder(n, events))).toBeUndefined();
    await host.start({}, services);
    expect(host.list().map((p) => [p.name, p.state])).toEqual([["a", "running"], ["b", "running"], ["c", "running"]]);
    await host.refresh({});
    await host.stop();
    expect(events).toEqual(["setup a", "setup b", "setup c", "refresh a", "refresh b", "refresh c", "stop c", "stop b", "stop a"]);
    expect(host.list().map((p) => p.state)).toEqual(["stopped", "stopped", "stopped"]);
    expect(health.state).toBe("online");
  });

  it("lists version and source: builtin gets the xvm version, a file its path", async () => {
    const { host, services } = testHost();
    host.register({ name: "a", setup() {} });
    host.register({ name: "b", version: "2.1.0", setup() {} }, "/usr/lib/xvm/plugins/b.js");
    await host.start({}, services);
    expect(host.list()).toEqual([
      { name: "a", version: "0.1.0", source: "builtin", state: "running", properties: [] },
      { name: "b", version: "2.1.0", source: "/usr/lib/xvm/plugins/b.js", state: "running", properties: [] },
    ]);
  });
});

describe("plugin host: broken plugins", () => {
  it("refuses a plugin declaring a property another plugin owns; the others load", async () => {
    const events: string[] = [];
    const { host, services, health, lines } = testHost();
    host.register(recorder("a", events, { properties: { "shared-port": { type: "integer", default: 1, description: "d" } } }));
    const err = host.register(
      recorder("b", events, { properties: { "shared-port": { type: "integer", default: 2, description: "d" } } }),
      "/plugins/b.ts",
    );
    host.register(recorder("c", events));
    expect(err?.code).toBe("PLUGIN_PROPERTY_CONFLICT");
    expect(err?.message).toBe("plugin b (/plugins/b.ts) declares config/shared-port, already owned by plugin a");
    await host.start({}, services);
    expect(events).toEqual(["setup a", "setup c"]);
    expect(host.list().map((p) => [p.name, p.state, p.error ?? ""])).toEqual([
      ["a", "running", ""],
      ["b", "failed", "plugin b (/plugins/b.ts) declares config/shared-port, already owned by plugin a"],
      ["c", "running", ""],
    ]);
    expect(health.state).toBe("degraded");
    expect(health.list()).toEqual(["plugin b (/plugins/b.ts) declares config/shared-port, already owned by plugin a"]);
    expect(lines).toContain("ERROR (xend.plugins) plugin b (/plugins/b.ts) declares config/shared-port, already owned by plugin a");
    expect(host.allConfig).toEqual({ "shared-port": 1 });
  });

  it("refuses a property of the core and a second plugin of the same name", () => {
    const { host } = testHost();
    host.register({ name: "xend", properties: { loglevel: { type: "astring", default: "DEBUG", description: "d" } }, setup() {} });
    const core = host.register({ name: "x", properties: { loglevel: { type: "astring", default: "INFO", description: "d" } }, setup() {} }, "/p/x.js");
    expect(core?.message).toBe("plugin x (/p/x.js) declares config/loglevel, already owned by plugin xend");
    expect(host.register({ name: "y", setup() {} }, "/p/y.js")).toBeUndefined();
    expect(host.register({ name: "y", setup() {} }, "/p/y2.js")?.message).toBe("plugin y (/p/y2.js) has the same name as the plugin from /p/y.js");
    expect(host.register({ name: "xend", setup() {} }, "/p/xend.js")?.message).toBe("plugin xend (/p/xend.js) has the same name as the plugin from builtin");
  });

  it("says what is wrong with an invalid definition", () => {
    const { host } = testHost();
    const cases: Array<[unknown, string]> = [
      [42, "plugin ? (/p) is not a valid plugin: the default export is number, not a plugin definition"],
      [{ name: "n" }, "plugin n (/p) is not a valid plugin: setup: required"],
      [{ name: "Bad Name", setup() {} }, "plugin Bad Name (/p) is not a valid plugin: name: name must be lower case letters, digits, '.', '_' or '-' (at most 64)"],
      [{ name: "t", properties: { p: { type: "float", default: 1, description: "d" } }, setup() {} }, "plugin t (/p) is not a valid plugin: properties.p.type: type must be one of boolean, integer, count, astring"],
      [{ name: "m", properties: { p: { type: "integer", default: 0, min: 1, description: "d" } }, setup() {} }, "plugin m (/p) is not a valid plugin: properties.p: default 0 is invalid: Expected at least 1"],
      [{ name: "v", properties: { p: { type: "astring", default: "x", values: ["a", "b"], description: "d" } }, setup() {} }, "plugin v (/p) is not a valid plugin: properties.p: default \"x\" is invalid: Expected one of a, b"],
    ];
    for (const [def, message] of cases) {
      const err = host.register(def, "/p");
      expect(err).toBeInstanceOf(XvmError);
      expect(err?.code).toBe("PLUGIN_INVALID");
      expect(err?.message).toBe(message);
    }
  });

  it("records a throw in setup with the plugin's name and path; later plugins still start", async () => {
    const events: string[] = [];
    const { host, services, health, lines } = testHost();
    host.register(recorder("a", events));
    host.register({ name: "boom", setup() { throw new Error("port in use"); } }, "/p/boom.js");
    host.register(recorder("c", events));
    await host.start({}, services);
    expect(events).toEqual(["setup a", "setup c"]);
    const boom = host.list().find((p) => p.name === "boom")!;
    expect(boom.state).toBe("failed");
    expect(boom.error).toBe("plugin boom (/p/boom.js) failed in setup: port in use");
    expect(health.list()).toEqual(["plugin boom (/p/boom.js) failed in setup: port in use"]);
    expect(lines.some((l) => l.startsWith("ERROR (boom) plugin boom (/p/boom.js) failed in setup: port in use\nError: port in use"))).toBe(true);
    expect(host.routesOf("boom")?.state).toBe("failed");
    await host.stop();
    expect(events).toEqual(["setup a", "setup c", "stop c", "stop a"]);
  });

  it("sets a plugin whose setup failed up again on refresh", async () => {
    const { host, services, health } = testHost();
    let attempts = 0;
    host.register({
      name: "flaky",
      properties: { "flaky-ok": { type: "boolean", default: false, description: "d" } },
      setup(ctx: PluginContext<{ "flaky-ok": boolean }>) {
        attempts += 1;
        if (!ctx.config["flaky-ok"]) throw new Error("not yet");
      },
    } as PluginDefinition);
    await host.start({}, services);
    expect(host.list()[0]!.state).toBe("failed");
    expect(health.state).toBe("degraded");
    const changes = await host.refresh({ "flaky-ok": true });
    expect(attempts).toBe(2);
    expect(host.list()[0]!.state).toBe("running");
    expect(host.list()[0]!.error).toBeUndefined();
    expect(health.state).toBe("online");
    expect([...changes]).toEqual([["flaky-ok", [false, true]]]);
  });

  it("abandons a stop() that hangs and one that throws, and still stops the rest", async () => {
    const events: string[] = [];
    const { host, services, lines } = testHost({ stopTimeoutMs: 50 });
    host.register(recorder("a", events));
    host.register({ name: "hang", setup: () => ({ stop: () => new Promise<void>(() => undefined) }) });
    host.register({ name: "bad", setup: () => ({ stop() { throw new Error("cannot"); } }) });
    await host.start({}, services);
    await host.stop();
    expect(events).toEqual(["setup a", "stop a"]);
    expect(host.list().map((p) => [p.name, p.state, p.error ?? ""])).toEqual([
      ["a", "stopped", ""],
      ["hang", "stopped", "plugin hang (builtin) failed in stop: stop() of plugin hang did not finish within 50 ms"],
      ["bad", "stopped", "plugin bad (builtin) failed in stop: cannot"],
    ]);
    expect(lines.filter((l) => l.startsWith("ERROR")).length).toBe(2);
  });
});

describe("plugin host: configuration and refresh", () => {
  const props = {
    "p-port": { type: "integer", default: 8000, min: 1, max: 65535, description: "d" },
    "p-name": { type: "astring", default: "x", description: "d", check: (v: string) => (v.includes(" ") ? "no spaces" : undefined) },
    "p-on": { type: "boolean", default: true, description: "d" },
  } as const;

  it("gives setup the typed running values; bad or missing ones fall back to the default", async () => {
    const { host, services, health } = testHost();
    let seen: Record<string, unknown> = {};
    host.register(definePlugin({ name: "p", properties: props, setup(ctx) { seen = { ...ctx.config }; } }) as PluginDefinition);
    await host.start({ "p-port": 70000, "p-name": "ok", other: 1 }, services);
    expect(seen).toEqual({ "p-port": 8000, "p-name": "ok", "p-on": true });
    expect(health.list()).toEqual(["config/p-port: Expected at most 65535; using 8000 instead"]);
    expect(host.allConfig).toEqual({ "p-port": 8000, "p-name": "ok", "p-on": true });
  });

  it("hands refresh the changes to the plugin's own properties, with ctx.config already updated", async () => {
    const { host, services, health } = testHost();
    const calls: Array<{ changes: Array<[string, unknown]>; port: number }> = [];
    host.register(definePlugin({
      name: "p",
      properties: props,
      setup(ctx) {
        return { refresh: (changes: ConfigChanges) => void calls.push({ changes: [...changes], port: ctx.config["p-port"] }) };
      },
    }) as PluginDefinition);
    host.register(definePlugin({ name: "q", properties: { "q-x": { type: "count", default: 0, description: "d" } }, setup: () => ({ refresh: (c) => void calls.push({ changes: [...c], port: -1 }) }) }) as PluginDefinition);
    await host.start({}, services);
    const applied = await host.refresh({ "p-port": 9000, "p-name": "x", "p-on": true, "q-x": 0 });
    expect(calls).toEqual([{ changes: [["p-port", [8000, 9000]]], port: 9000 }, { changes: [], port: -1 }]);
    expect([...applied]).toEqual([["p-port", [8000, 9000]]]);
    // A value the declaration refuses never reaches the plugin; the good ones still apply.
    calls.length = 0;
    await host.refresh({ "p-port": 9001, "p-name": "has space", "p-on": false });
    expect(calls[0]).toEqual({ changes: [["p-port", [9000, 9001]], ["p-on", [true, false]]], port: 9001 });
    expect(health.list()).toEqual(['config/p-name: no spaces; keeping "x"']);
    expect(host.allConfig["p-name"]).toBe("x");
    // Fixing the value clears the reason.
    await host.refresh({ "p-port": 9001, "p-name": "y", "p-on": false });
    expect(health.state).toBe("online");
    expect(host.allConfig).toMatchObject({ "p-port": 9001, "p-name": "y", "p-on": false });
  });

  it("puts the previous values back when refresh throws, until a later refresh succeeds", async () => {
    const { host, services, health } = testHost();
    let view: Record<string, unknown> = {};
    host.register(definePlugin({
      name: "p",
      properties: props,
      setup(ctx) {
        view = ctx.config;
        return {
          refresh() {
            if (ctx.config["p-port"] === 666) throw new Error("port 666 is cursed");
          },
        };
      },
    }) as PluginDefinition, "/x/p.ts");
    await host.start({}, services);
    const applied = await host.refresh({ "p-port": 666, "p-name": "new" });
    expect(applied.size).toBe(0);
    expect(view).toEqual({ "p-port": 8000, "p-name": "x", "p-on": true });
    expect(host.allConfig).toEqual({ "p-port": 8000, "p-name": "x", "p-on": true });
    const reason = "plugin p (/x/p.ts) failed in refresh: port 666 is cursed; its previous configuration stays in force";
    expect(health.list()).toEqual([reason]);
    expect(host.list()[0]).toMatchObject({ state: "running", error: reason });
    await host.refresh({ "p-port": 667 });
    expect(view["p-port"]).toBe(667);
    expect(health.state).toBe("online");
    expect(host.list()[0]!.error).toBeUndefined();
  });

  it("reports the changes of every plugin's properties, the core's xend plugin's too", async () => {
    const { host, services } = testHost();
    host.register({ name: "xend", properties: { loglevel: { type: "astring", default: "DEBUG", values: ["DEBUG", "INFO"], description: "d" } }, setup() {} });
    await host.start({}, services);
    expect(host.allConfig).toEqual({ loglevel: "DEBUG" });
    expect([...(await host.refresh({ loglevel: "INFO" }))]).toEqual([["loglevel", ["DEBUG", "INFO"]]]);
  });
});

describe("plugin host: hooks", () => {
  it("fires hooks in registration order, awaiting each", async () => {
    const { host, services } = testHost();
    const order: string[] = [];
    for (const [name, delay] of [["a", 20], ["b", 0], ["c", 5]] as const) {
      host.register({
        name,
        setup: () => ({
          hooks: {
            async domainCreated(d: DomainSummary) {
              // A fixed delay on purpose: the slowest hook first shows the host awaits each in turn.
              await new Promise((r) => setTimeout(r, delay));
              order.push(`${name}:${d.name}`);
            },
          },
        }),
      });
    }
    await host.start({}, services);
    await host.fire("domainCreated", domain);
    expect(order).toEqual(["a:web1", "b:web1", "c:web1"]);
  });

  it("logs a throwing hook under its plugin, runs the others, and degrades until it succeeds again", async () => {
    const { host, services, health, lines } = testHost();
    const seen: string[] = [];
    let fail = true;
    host.register({ name: "a", setup: () => ({ hooks: { domainCrashed: () => void seen.push("a") } }) });
    host.register({ name: "dumper", setup: () => ({ hooks: { domainCrashed() { if (fail) throw new Error("disk full"); seen.push("dumper"); } } }) }, "/p/dumper.js");
    host.register({ name: "c", setup: () => ({ hooks: { domainCrashed: () => void seen.push("c") } }) });
    await host.start({}, services);
    await host.fire("domainCrashed", domain, { wantDump: true });
    expect(seen).toEqual(["a", "c"]);
    expect(health.list()).toEqual(["plugin dumper (/p/dumper.js) failed in hook domainCrashed: disk full"]);
    expect(lines.some((l) => l.startsWith("ERROR (dumper) plugin dumper (/p/dumper.js) failed in hook domainCrashed: disk full"))).toBe(true);
    fail = false;
    await host.fire("domainCrashed", domain, { wantDump: false });
    expect(seen).toEqual(["a", "c", "a", "dumper", "c"]);
    expect(health.state).toBe("online");
  });

  it("turns a throw in domainPreCreate into a refusal for the caller, without degrading", async () => {
    const { host, services, health } = testHost();
    const seen: string[] = [];
    host.register({ name: "a", setup: () => ({ hooks: { domainPreCreate: () => void seen.push("a") } }) });
    host.register({
      name: "balloon",
      setup: () => ({ hooks: { domainPreCreate() { throw new XvmError("NO_MEMORY", { detail: "I need 524288 KiB" }); } } }),
    });
    host.register({ name: "c", setup: () => ({ hooks: { domainPreCreate: () => void seen.push("c") } }) });
    await host.start({}, services);
    const request = { config: { name: "web1" }, needKiB: 524288 } as DomainCreateRequest;
    await expect(host.fire("domainPreCreate", request)).rejects.toThrow("I need 524288 KiB");
    await expect(host.fire("domainPreMemoryChange", domain, 512)).resolves.toBeUndefined();
    expect(seen).toEqual(["a"]);
    expect(health.state).toBe("online");
  });

  it("does not fire hooks of failed or stopped plugins", async () => {
    const { host, services } = testHost();
    const seen: string[] = [];
    host.register({ name: "dead", setup() { throw new Error("x"); } });
    host.register({ name: "live", setup: () => ({ hooks: { domainDestroyed: () => void seen.push("live") } }) });
    await host.start({}, services);
    await host.fire("domainDestroyed", domain);
    await host.stop();
    await host.fire("domainDestroyed", domain);
    expect(seen).toEqual(["live"]);
  });
});

describe("plugin host: context", () => {
  const dir = mkdtempSync(join(tmpdir(), "xvm-host-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps one degrade reason per plugin, cleared with undefined", async () => {
    const { host, services, health } = testHost();
    const ctxs: Record<string, PluginContext<unknown>> = {};
    for (const name of ["a", "b"]) host.register(definePlugin({ name, setup(ctx) { ctxs[name] = ctx as PluginContext<unknown>; } }));
    await host.start({}, services);
    ctxs.a!.degrade("link gone");
    ctxs.b!.degrade("cpu offline");
    expect(health.list()).toEqual(["plugin a: link gone", "plugin b: cpu offline"]);
    ctxs.a!.degrade(undefined);
    expect(health.list()).toEqual(["plugin b: cpu offline"]);
  });

  it("serves plugin routes under /plugins/<name>/ and shares allConfig, paths, services, legacyHttp", async () => {
    const { host, services } = testHost();
    const ctxs: PluginContext<unknown>[] = [];
    host.register(definePlugin({
      name: "web",
      properties: { "web-greeting": { type: "astring", default: "hi", description: "d" } },
      setup(ctx) {
        ctxs.push(ctx as PluginContext<unknown>);
        ctx.routes.get("/", (c) => c.json({ greeting: ctx.config["web-greeting"] }));
        ctx.routes.get("/boom", () => { throw new XvmError("DOMAIN_NOT_FOUND", { dom: "x" }); });
      },
    }));
    host.register(definePlugin({ name: "other", setup(ctx) { ctxs.push(ctx as PluginContext<unknown>); } }));
    await host.start({}, services);
    const routes = host.routesOf("web")!.routes;
    for (const path of ["/plugins/web", "/plugins/web/"]) {
      const res = await routes.fetch(new Request(`http://x${path}`));
      expect(await res.json()).toEqual({ greeting: "hi" });
    }
    const boom = await routes.fetch(new Request("http://x/plugins/web/boom"));
    expect(boom.status).toBe(404);
    expect(await boom.json()).toEqual({ code: "DOMAIN_NOT_FOUND", message: "Domain 'x' does not exist." });
    // Routes added after the first request are served too.
    ctxs[0]!.routes.get("/late", (c) => c.text("late"));
    expect(await (await routes.fetch(new Request("http://x/plugins/web/late"))).text()).toBe("late");
    expect(ctxs[1]!.allConfig).toBe(ctxs[0]!.allConfig);
    expect(ctxs[1]!.allConfig["web-greeting"]).toBe("hi");
    expect(ctxs[0]!.legacyHttp).toBe(ctxs[1]!.legacyHttp);
    expect(ctxs[0]!.domains).toBe(services.domains);
    expect(ctxs[0]!.hypervisor).toBe(services.hypervisor);
  });

  it("closes servers a plugin left open when it stops, removing their sockets", async () => {
    const { host, services } = testHost();
    const socket = join(dir, "left-open.sock");
    const closed = join(dir, "closed.sock");
    host.register(definePlugin({
      name: "srv",
      async setup(ctx) {
        await ctx.serve({ unix: socket, mode: 0o600 }, () => new Response("ok"));
        const h = await ctx.serve({ unix: closed }, () => new Response("ok"));
        return { stop: () => h.close() };
      },
    }));
    await host.start({}, services);
    expect(await socketAnswers(socket)).toBe(true);
    expect(await socketAnswers(closed)).toBe(true);
    await host.stop();
    expect(await socketAnswers(socket)).toBe(false);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(closed)).toBe(false);
  });
});
