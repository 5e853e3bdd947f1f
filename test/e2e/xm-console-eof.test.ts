/**
 * `xm console` whose input is not a terminal ends with its input (issue 17 item 11): at EOF right
 * away it shows the history and leaves; piped commands reach the guest and their answers show.
 * Through the compiled binary against `xvm xend` on a temporary root.
 */
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, runAsync, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { consoleText, startXend, xmOk, type Xend } from "../helpers/xm.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");

let root: string;
let xend: Xend | undefined;

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-console-eof-"), { relocation: false });
  xend = await startXend(root);
  xmOk(root, "create", join(repo, "examples/idle.cfg"));
  await waitFor(async () => (await consoleText(root, "idle1")).includes("booting"), "idle1's first console line", 30_000, 100);
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

describe("xm console with its input at EOF", () => {
  it("-q: prints the history and exits 0 as soon as it is shown", async () => {
    const history = await consoleText(root, "idle1");
    const r = await runAsync(["xm", "console", "-q", "idle1"], { root, input: "" });
    expect(r).toEqual({ code: 0, stdout: expect.stringContaining(history), stderr: "" });
  });

  it("sends piped input, shows the answer, and exits 0 when the console is quiet", async () => {
    const r = await runAsync(["xm", "console", "idle1"], { root, input: "help\n" });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("booting");
    // The guest answered what was typed (the answer is on its console whether or not xm waited for it).
    await waitFor(async () => (await consoleText(root, "idle1")).includes("commands: poweroff halt reboot panic"), "the answer to help");
  });

  it("a console that does not exist still fails as before", async () => {
    const r = await runAsync(["xm", "console", "nosuch"], { root, input: "" });
    expect(r).toEqual({ code: 1, stdout: "", stderr: "Error: Domain 'nosuch' does not exist.\n" });
  });
});
