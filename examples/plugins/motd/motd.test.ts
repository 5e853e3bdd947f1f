/**
 * Loads the motd example through the plugin host, as the daemon loads an external plugin: import
 * from its file, register, set up, serve its route, refresh, hooks, stop.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DomainSummary } from "../../../src/domain/types.ts";
import { importPlugin } from "../../../src/plugin/loader.ts";
import { testHost } from "../../../test/helpers/plugin-host.ts";

const path = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "index.ts");

describe("motd example plugin", () => {
  it("loads, serves its message, follows refresh, counts domains and stops", async () => {
    const def = await importPlugin({ name: "motd", path });
    expect(def.name).toBe("motd");
    const { host, services, health, lines } = testHost();
    expect(host.register(def, path)).toBeUndefined();
    await host.start({ "motd-message": "Hello from the test" }, services);
    expect(host.list()).toEqual([{ name: "motd", version: "1.0.0", source: path, state: "running", properties: ["motd-message"] }]);
    const get = async () => (await host.routesOf("motd")!.routes.fetch(new Request("http://x/plugins/motd/"))).json();
    expect(await get()).toEqual({ message: "Hello from the test", domainsCreated: 0 });

    await host.fire("domainCreated", { name: "web1" } as DomainSummary);
    await host.refresh({ "motd-message": "New message" });
    expect(await get()).toEqual({ message: "New message", domainsCreated: 1 });
    expect(lines).toContain('INFO (motd) message changed from "Hello from the test" to "New message"');

    // The declaration's check refuses a message over 200 characters; the old one stays.
    await host.refresh({ "motd-message": "x".repeat(201) });
    expect(await get()).toEqual({ message: "New message", domainsCreated: 1 });
    expect(health.list()).toEqual(['config/motd-message: at most 200 characters; keeping the value in force "New message"']);

    await host.stop();
    expect(lines.at(-1)).toMatch(/^DEBUG \(motd\) stopped in \d+ ms$/);
    expect(lines).toContain("INFO (motd) stopping after 1 domain(s) created");
  });
});
