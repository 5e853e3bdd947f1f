/**
 * `xm log` prints the log file in force, `config/logfile` (under the state root), not the default
 * var/log/xen/xend.log: at start, and again after a refresh moves the log elsewhere. The compiled
 * binary against one `xvm xend` on a temporary root.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { startXend, xm, xmOk, type Xend } from "../helpers/xm.ts";

let root: string;
let xend: Xend | undefined;

function setLogfile(path: string): void {
  expect(run(["svccfg", "-s", "xend", "setprop", "config/logfile", "=", path], { root }).code).toBe(0);
  expect(run(["svccfg", "-s", "xend:default", "refresh"], { root }).code).toBe(0);
}

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-xm-log-"), { relocation: false });
  setLogfile("/var/log/xvm/first.log");
  xend = await startXend(root);
});

afterAll(async () => {
  await cleanupRoot(root, xend ? [xend.pid] : []);
});

describe("xm log", () => {
  it("prints config/logfile, not the default log", async () => {
    const first = join(root, "var/log/xvm/first.log");
    await waitFor(() => existsSync(first) && readFileSync(first, "utf8").length > 0, "xend to write var/log/xvm/first.log");
    const log = xmOk(root, "log");
    // The file as it was, plus the newline xm's print added.
    expect(readFileSync(first, "utf8").startsWith(log.slice(0, -1))).toBe(true);
    expect(log.endsWith("\n\n")).toBe(true);
    expect(log).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+\] INFO \(/);
    expect(existsSync(join(root, "var/log/xen/xend.log"))).toBe(false);
  });

  it("follows a refresh that moves the log", async () => {
    setLogfile("/var/log/xvm/second.log");
    expect(run(["xend", "reload"], { root })).toMatchObject({ code: 0, stdout: "config/logfile: \"/var/log/xvm/first.log\" -> \"/var/log/xvm/second.log\"\nstate online\n" });
    xmOk(root, "create", "examples/idle.cfg", "name=logged1");
    const second = join(root, "var/log/xvm/second.log");
    await waitFor(() => existsSync(second) && readFileSync(second, "utf8").includes("logged1"), "the creation in var/log/xvm/second.log");
    const log = xmOk(root, "log");
    expect(log).toContain("Domain logged1 (1) created");
    expect(readFileSync(second, "utf8").startsWith(log.slice(0, -1))).toBe(true);
    expect(readFileSync(join(root, "var/log/xvm/first.log"), "utf8")).not.toContain("logged1");
    expect(xm(root, "destroy", "logged1").code).toBe(0);
  });
});
