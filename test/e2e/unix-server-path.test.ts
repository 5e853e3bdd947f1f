/**
 * config/xend-unix-path (issue 13 §2): xend never chmods a folder it did not create. A missing
 * folder becomes the socket's private folder (0700); an existing folder that another user owns
 * (a user created by the test) or that is group/world-writable is refused — the daemon is
 * degraded with the reason and the folder keeps its mode — and a safe one is used as it is.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { createTestUser, type TestUser } from "../helpers/users.ts";
import { startXend, type XendProcess } from "../helpers/xend.ts";

let root = "";
let xend: XendProcess;
const made = createTestUser("xvmus");
const user: TestUser | undefined = typeof made === "string" ? undefined : made;

async function usePath(path: string): Promise<{ state: string; reasons: string[] }> {
  expect(run(["svccfg", "-s", "xend", "setprop", "config/xend-unix-path", "=", path], { root })).toMatchObject({ code: 0, stderr: "" });
  expect(run(["svccfg", "-s", "xend:default", "refresh"], { root }).code).toBe(0);
  await xend.api("POST", "/refresh");
  return xend.api("GET", "/status");
}

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-us-path-"), { relocation: false });
  for (const d of ["shared", "theirs", "ok"]) mkdirSync(join(root, d), { mode: 0o755 });
  chmodSync(join(root, "shared"), 0o777);
  if (user) chownSync(join(root, "theirs"), user.uid, user.gid);
  xend = await startXend(root);
});

afterAll(async () => {
  if (root) await cleanupRoot(root, xend ? [xend.pid] : []);
  user?.remove();
});

describe("the legacy socket's folder", () => {
  it("creates a missing folder as the socket's own, 0700", async () => {
    const status = await usePath("/private/sock/xend-socket");
    expect(status.state).toBe("online");
    expect(statSync(join(root, "private/sock")).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(root, "private/sock/xend-socket")).mode & 0o777).toBe(0o600);
  });

  it("refuses a world-writable folder without changing its mode: degraded, with the reason", async () => {
    const status = await usePath("/shared/xend-socket");
    expect(status.state).toBe("degraded");
    expect(status.reasons).toContain(`plugin unix-server: legacy HTTP interface: cannot listen on ${join(root, "shared/xend-socket")}: the socket's folder ${join(root, "shared")} has mode 0777; it must be 0755 or stricter; xend does not change the mode of a folder it did not create: fix it or choose another config/xend-unix-path`);
    expect(statSync(join(root, "shared")).mode & 0o777).toBe(0o777);
    expect(existsSync(join(root, "shared/xend-socket"))).toBe(false);
  });

  it.skipIf(!user)("refuses a folder owned by another user", async () => {
    const status = await usePath("/theirs/xend-socket");
    expect(status.reasons.join("\n")).toContain(`the socket's folder ${join(root, "theirs")} is owned by uid ${user!.uid}, not by root or xend's user`);
    expect(statSync(join(root, "theirs")).mode & 0o777).toBe(0o755);
  });

  it("uses a safe existing folder as it is (0755 stays 0755) and recovers", async () => {
    const status = await usePath("/ok/xend-socket");
    expect(status.state).toBe("online");
    expect(statSync(join(root, "ok")).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(root, "ok/xend-socket")).mode & 0o777).toBe(0o600);
  });
});
