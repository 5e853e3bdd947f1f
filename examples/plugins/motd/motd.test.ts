/**
 * The motd example under the plugin test harness that `xvm/plugin` exports for plugin authors:
 * the plugin runs in the real plugin host (declarations, refresh, hooks, stop as in xend).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startPluginHarness, type DomainSummary } from "xvm/plugin";
import motd from "./index.ts";

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

describe("motd example plugin", () => {
  it("serves its message, follows refresh, counts domains and stops", async () => {
    root = mkdtempSync(join(tmpdir(), "xvm-motd-"));
    const h = await startPluginHarness(motd, { root, config: { "motd-message": "Hello from the test" } });
    const get = async () => (await h.routes.request("/plugins/motd/")).json();
    expect(await get()).toEqual({ message: "Hello from the test", domainsCreated: 0 });

    await h.fire("domainCreated", { name: "web1" } as DomainSummary);
    await h.refresh({ "motd-message": "New message" });
    expect(await get()).toEqual({ message: "New message", domainsCreated: 1 });
    expect(h.lines).toContain('INFO (motd) message changed from "Hello from the test" to "New message"');

    // The declaration's check refuses a message over 200 characters; the old one stays.
    await h.refresh({ "motd-message": "x".repeat(201) });
    expect(await get()).toEqual({ message: "New message", domainsCreated: 1 });
    expect(h.reasons).toEqual(['config/motd-message: at most 200 characters; keeping "New message"']);

    await h.stop();
    expect(h.lines).toContain("INFO (motd) stopping after 1 domain(s) created");
    expect(h.lines.at(-1)).toMatch(/^DEBUG \(motd\) plugin motd stopped in \d+ ms$/);
  });
});
