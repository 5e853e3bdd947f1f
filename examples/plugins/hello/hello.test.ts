/**
 * The hello example under the plugin test harness (`xvm/plugin`): its route answers a greeting for
 * a domain the harness's domain manager knows, and its command runs against a control API stand-in.
 * The command through the compiled binary is test/e2e/plugin-hello.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { XvmError, startPluginHarness, type CommandContext, type CommandRun, type DomainSummary } from "xvm/plugin";
import hello from "./index.ts";

let root: string | undefined;
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

const web1 = { name: "web1", domid: 3, memory: 256, flags: { running: true, blocked: false, paused: false } } as DomainSummary;

describe("hello example plugin", () => {
  it("greets a domain on its route, with the configured word", async () => {
    root = mkdtempSync(join(tmpdir(), "xvm-hello-"));
    const h = await startPluginHarness(hello, {
      root,
      config: { "hello-greeting": "Howdy" },
      domains: {
        get: async (dom) => {
          if (dom === "off1") return { ...web1, name: "off1", domid: null };
          if (dom !== "web1") throw new XvmError("DOMAIN_NOT_FOUND", { dom });
          return web1;
        },
      },
    });
    const res = await h.routes.request("/plugins/hello/web1");
    expect(await res.json()).toEqual({ greeting: "Howdy, web1!", domid: 3, memory: 256, state: "running" });
    const missing = await h.routes.request("/plugins/hello/nosuch");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: "DOMAIN_NOT_FOUND", message: "Domain 'nosuch' does not exist." });

    // The plugin's own error code, from its declaration: status 409, the message template filled in.
    const off = await h.routes.request("/plugins/hello/off1");
    expect(off.status).toBe(409);
    expect(await off.json()).toMatchObject({ code: "HELLO_NOT_RUNNING", message: "Domain 'off1' is not running: there is nobody to greet." });

    await h.refresh({ "hello-greeting": "no <html>" });
    expect(h.reasons).toEqual([`config/hello-greeting: letters, spaces and , ! . ' - only (at most 40); keeping "Howdy"`]);
    await h.stop();
  });

  it("declares xm hello, whose command prints one line", async () => {
    const [command] = hello.commands ?? [];
    expect(command).toMatchObject({ name: "hello", args: [{ name: "Domain" }] });
    const loaded = await command!.load();
    const run: CommandRun = typeof loaded === "function" ? loaded : loaded.default;
    const stdout = new PassThrough();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString()));
    const ctx = { stdout, api: async () => ({ greeting: "Hello, web1!", domid: 3, memory: 256, state: "running" }) } as unknown as CommandContext;
    expect(await run({ options: {}, args: { Domain: "web1" } }, ctx)).toBe(0);
    expect(out).toBe("Hello, web1! (domain 3, 256 MiB, running)\n");
  });
});
