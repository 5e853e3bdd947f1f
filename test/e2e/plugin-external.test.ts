/**
 * External plugins loaded by the compiled binary: .js and .ts files and folders from the
 * directories of config/plugin-path, the motd example, and broken plugins reported with their name
 * and path while the others load.
 */
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { logWithoutLineNos } from "../helpers/log-lines.ts";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { createTestUser } from "../helpers/users.ts";
import { startXend, type XendProcess } from "../helpers/xend.ts";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const started: XendProcess[] = [];
const roots: string[] = [];
afterEach(async () => {
  const pids = started.splice(0).map((x) => x.pid);
  for (const root of roots.splice(0)) await cleanupRoot(root, pids);
});

function write(path: string, text: string): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
}

interface PluginRow {
  name: string;
  version: string;
  source: string;
  state: string;
  error?: string;
  properties: string[];
}

describe("external plugins in the compiled daemon", () => {
  it("loads .js and .ts plugins from every plugin directory, reports the broken ones, and serves the rest", async () => {
    const root = tempRoot("xvm-plugins-");
    roots.push(root);
    const main = join(root, "usr/lib/xvm/plugins");
    const extra = join(root, "opt/xvm/plugins");
    // The example, as an administrator installs it: the folder copied into a plugin directory.
    cpSync(join(repoRoot, "examples/plugins/motd"), join(main, "motd"), { recursive: true });
    rmSync(join(main, "motd/motd.test.ts"));
    write(join(main, "jsplug.js"), `export default {
  name: "jsplug",
  version: "0.2.0",
  properties: { "jsplug-count": { type: "count", default: 3, description: "A count from a .js plugin." } },
  setup(ctx) {
    ctx.routes.get("/", (c) => c.json({ count: ctx.config["jsplug-count"], runtime: typeof Bun }));
    return { stop() { ctx.log.info("jsplug stopping"); } };
  },
};
`);
    write(join(main, "tsplug/index.ts"), `import { definePlugin, v } from "xvm/plugin";
import type { ConfigChanges } from "xvm/plugin";
const Size = v.pipe(v.number(), v.integer());
export default definePlugin({
  name: "tsplug",
  properties: { "tsplug-size": { type: "integer", default: 7, min: 1, description: "A size from a .ts plugin." } },
  setup(ctx) {
    let last: string = "none";
    ctx.routes.get("/size", (c) => c.json({ size: v.parse(Size, ctx.config["tsplug-size"]), last }));
    return { refresh(changes: ConfigChanges) { last = JSON.stringify([...changes]); } };
  },
});
`);
    write(join(main, "broken.js"), `export default { name: "broken", setup() {\n`);
    write(join(main, "conflict.ts"), `export default { name: "conflict", properties: { "dom0-cpus": { type: "integer", default: 1, description: "mine" } }, setup() {} };\n`);
    write(join(main, "notplugin.js"), `export default 42;\n`);
    write(join(main, "thrower.js"), `export default { name: "thrower", setup() { throw new Error("cannot bind 1.2.3.4:99"); } };\n`);
    write(join(extra, "late.js"), `export default { name: "late", setup(ctx) { ctx.routes.get("/", (c) => c.text("late plugin")); } };\n`);
    prepareRoot(root, { relocation: false, props: { "plugin-path": "/usr/lib/xvm/plugins:/opt/xvm/plugins" } });

    const x = await startXend(root);
    started.push(x);
    const plugins = await x.api<PluginRow[]>("GET", "/plugins");
    expect(plugins.slice(0, 7).every((p) => p.source === "builtin" && p.state === "running")).toBe(true);
    expect(plugins.slice(7)).toEqual([
      { name: "broken", version: "", source: join(main, "broken.js"), state: "failed", error: expect.stringMatching(new RegExp(`^plugin broken \\(${join(main, "broken.js")}\\) failed to load: `)), properties: [] },
      { name: "conflict", version: "", source: join(main, "conflict.ts"), state: "failed", error: `plugin conflict (${join(main, "conflict.ts")}) declares config/dom0-cpus, already owned by plugin dom0-cpus`, properties: [] },
      { name: "jsplug", version: "0.2.0", source: join(main, "jsplug.js"), state: "running", properties: ["jsplug-count"] },
      { name: "motd", version: "1.0.0", source: join(main, "motd/index.ts"), state: "running", properties: ["motd-message"] },
      { name: "notplugin", version: "", source: join(main, "notplugin.js"), state: "failed", error: `plugin notplugin (${join(main, "notplugin.js")}) is not a valid plugin: the default export is number, not a plugin definition`, properties: [] },
      { name: "thrower", version: "", source: join(main, "thrower.js"), state: "failed", error: `plugin thrower (${join(main, "thrower.js")}) failed in setup: cannot bind 1.2.3.4:99`, properties: [] },
      { name: "tsplug", version: "", source: join(main, "tsplug/index.ts"), state: "running", properties: ["tsplug-size"] },
      { name: "late", version: "", source: join(extra, "late.js"), state: "running", properties: [] },
    ]);
    const status = await x.api<{ state: string; reasons: string[] }>("GET", "/status");
    expect(status.state).toBe("degraded");
    expect(status.reasons).toEqual(plugins.filter((p) => p.state === "failed").map((p) => p.error));

    expect(await x.api("GET", "/plugins/motd/")).toEqual({ message: "Welcome to xvm", domainsCreated: 0 });
    expect(await x.api("GET", "/plugins/jsplug")).toEqual({ count: 3, runtime: "object" });
    expect(await x.api("GET", "/plugins/tsplug/size")).toEqual({ size: 7, last: "none" });
    const failedRoute = await x.api("GET", "/plugins/thrower/").then(() => undefined, (e: unknown) => e);
    expect(failedRoute).toMatchObject({
      status: 404,
      code: "XVM_NOT_FOUND",
      message: `plugin thrower is failed: plugin thrower (${join(main, "thrower.js")}) failed in setup: cannot bind 1.2.3.4:99`,
    });

    // Their properties are in the repository, so svccfg and svcprop show and change them.
    const listed = run(["svccfg", "-s", "xend:default", "listprop", "config/motd-message"], { root });
    expect(listed.stdout).toBe('config/motd-message  astring  "Welcome to xvm"\n');
    expect(run(["svcprop", "-p", "config/tsplug-size", "xend"], { root }).stdout).toBe("7\n");
    for (const args of [["config/motd-message", "=", '"Hello, world"'], ["config/tsplug-size", "=", "9"]]) {
      expect(run(["svccfg", "-s", "xend", "setprop", ...args], { root })).toMatchObject({ code: 0, stderr: "" });
    }
    expect(run(["svccfg", "-s", "xend:default", "refresh"], { root }).code).toBe(0);
    process.kill(x.pid, "SIGHUP");
    await waitFor(async () => (await x.api<{ message: string }>("GET", "/plugins/motd/")).message === "Hello, world", "the new message");
    expect(await x.api("GET", "/plugins/tsplug/size")).toEqual({ size: 9, last: '[["tsplug-size",[7,9]]]' });

    process.kill(x.pid, "SIGTERM");
    expect(await x.exited).toEqual([0, null]);
    const log = logWithoutLineNos(readFileSync(join(root, "var/log/xen/xend.log"), "utf8"));
    for (const line of [
      `INFO (daemon/daemon) loaded plugin motd 1.0.0 from ${join(main, "motd/index.ts")}`,
      "INFO (motd) serving \"Welcome to xvm\"",
      'INFO (motd) message changed from "Welcome to xvm" to "Hello, world"',
      "INFO (motd) stopping after 0 domain(s) created",
      "INFO (plugins/jsplug) jsplug stopping",
      `ERROR (plugin/host) plugin thrower (${join(main, "thrower.js")}) failed in setup: cannot bind 1.2.3.4:99`,
    ]) expect(log).toContain(line);
  });

  it("does not load a plugin that another user could change: owned by them, world-writable, or in a group-writable folder", async () => {
    const user = createTestUser("xvmpl");
    if (typeof user === "string") {
      console.warn(`plugin-external: untrusted owner case skipped: ${user}`);
      return;
    }
    try {
      const root = tempRoot("xvm-plugins-trust-");
      roots.push(root);
      const dir = join(root, "usr/lib/xvm/plugins");
      const shared = join(root, "opt/shared-plugins");
      // Each plugin leaves a mark if its code ever runs.
      const body = (name: string, mark: string) => `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(mark)}, "ran");\nexport default { name: "${name}", setup() {} };\n`;
      for (const name of ["good", "theirs", "open"]) write(join(dir, `${name}.js`), body(name, join(root, `${name}.ran`)));
      write(join(shared, "inshared.js"), body("inshared", join(root, "inshared.ran")));
      chownSync(join(dir, "theirs.js"), user.uid, user.gid); // as if the user had written it
      chmodSync(join(dir, "open.js"), 0o666);
      chmodSync(shared, 0o775);
      prepareRoot(root, { relocation: false, props: { "plugin-path": "/usr/lib/xvm/plugins:/opt/shared-plugins" } });
      const x = await startXend(root);
      started.push(x);
      const external = (await x.api<PluginRow[]>("GET", "/plugins")).filter((p) => p.source !== "builtin");
      const hint = "a root daemon runs only code that root or its own user alone can change (chown root, chmod go-w)";
      expect(external).toEqual([
        { name: "good", version: "", source: join(dir, "good.js"), state: "running", properties: [] },
        { name: "open", version: "", source: join(dir, "open.js"), state: "failed", error: `plugin open (${join(dir, "open.js")}) was not loaded: ${join(dir, "open.js")} is writable by everyone (mode 0666); ${hint}`, properties: [] },
        { name: "theirs", version: "", source: join(dir, "theirs.js"), state: "failed", error: `plugin theirs (${join(dir, "theirs.js")}) was not loaded: ${join(dir, "theirs.js")} is owned by uid ${user.uid}, not by root or the daemon's user (uid 0); ${hint}`, properties: [] },
        { name: "inshared", version: "", source: join(shared, "inshared.js"), state: "failed", error: `plugin inshared (${join(shared, "inshared.js")}) was not loaded: ${shared} is writable by its group (mode 0775); ${hint}`, properties: [] },
      ]);
      expect(existsSync(join(root, "good.ran"))).toBe(true);
      for (const name of ["theirs", "open", "inshared"]) expect(existsSync(join(root, `${name}.ran`)), name).toBe(false);
      expect((await x.api<{ state: string }>("GET", "/status")).state).toBe("degraded");
    } finally {
      user.remove();
    }
  });
});
