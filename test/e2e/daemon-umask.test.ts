/**
 * Every daemon sets its umask to 022 whatever its caller's (issue 13 §2): svcadm started from a
 * shell with `umask 000` starts the restarter and xend, xend starts a guest's runner and writes a
 * dump; nothing in the state tree is group- or world-writable afterwards (sockets and symbolic
 * links aside, whose modes mean nothing here or are set explicitly).
 */
import { spawnSync } from "node:child_process";
import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, run, tempRoot, xvmBin } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";

let root = "";

function loose(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink() || st.isSocket()) continue;
    if ((st.mode & 0o022) !== 0) out.push(`${path.slice(root.length)} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) loose(path, out);
  }
  return out;
}

beforeAll(() => {
  root = prepareRoot(tempRoot("xvm-umask-"), { relocation: false });
});

afterAll(async () => {
  if (root) await cleanupRoot(root);
});

describe("umask", () => {
  it("leaves nothing group- or world-writable when started from a shell with umask 000", () => {
    const sh = (cmd: string) => spawnSync("sh", ["-c", `umask 000; exec ${cmd}`], { env: { ...process.env, XVM_ROOT: root, TZ: "UTC" }, encoding: "utf8", timeout: 60_000 });
    const enable = sh(`'${xvmBin()}' svcadm enable -s xend`);
    expect(enable.status, enable.stderr).toBe(0);
    const cfg = join(root, "u1.cfg");
    spawnSync("sh", ["-c", `printf 'name = "u1"\\nkernel = "sim:idle"\\nmemory = 16\\n' > '${cfg}'`]);
    expect(sh(`'${xvmBin()}' xm create '${cfg}'`).status).toBe(0);
    expect(sh(`'${xvmBin()}' xm dump-core u1`).status).toBe(0);
    expect(run(["xm", "destroy", "u1"], { root }).code).toBe(0);
    expect(loose(root).filter((p) => !p.startsWith("/u1.cfg "))).toEqual([]);
  });
});
