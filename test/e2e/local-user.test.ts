/**
 * issue 13 §1 as the attacker it names: a local user who is not root (created by the test,
 * test/helpers/users.ts) on a host whose relocation server listens on 127.0.0.1 with the default
 * hosts-allow (`^localhost$`, which every local process passes). The state root's folders are
 * made traversable (0755) as /etc/xen and /var/run are on a real host, so only the files' own
 * modes stand between the user and the daemon. The user cannot read the relocation key, cannot
 * get a guest through the relocation port without it (the connection is closed after the
 * challenge, nothing is created), and cannot reach the control socket (0600): `xvm xm` run as that
 * user changes nothing.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode, Msg } from "../../plugins/relocation/channel.ts";
import { cleanupRoot, xvmBin } from "../helpers/cli.ts";
import { relocationKeyPath } from "../helpers/relocation-key.ts";
import { domains, expectNoGuests, startHost, type Host } from "../helpers/relocation.ts";
import { createTestUser, type TestUser } from "../helpers/users.ts";

let h: Host;
let user: TestUser | string;

/** Runs `node -e script args…` as the test user; the script prints one JSON line. */
function asUser(script: string, ...args: string[]): { status: number | null; out: string; err: string } {
  const u = user as TestUser;
  const r = spawnSync(process.execPath, ["-e", script, ...args], { uid: u.uid, gid: u.gid, encoding: "utf8", timeout: 30_000, env: { PATH: "/usr/bin:/bin" } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(async () => {
  user = createTestUser("xvmlu");
  h = await startHost("lu");
  // As on a real host: / , /etc, /etc/xen, /var, /var/run, /var/run/xend are 0755.
  for (const dir of ["", "etc", "etc/xen", "var", "var/run", "var/run/xend"]) chmodSync(join(h.root, dir), 0o755);
});

afterAll(async () => {
  if (h) await cleanupRoot(h.root, [h.xend.pid]);
  if (typeof user !== "string") user.remove();
});

describe("a local user who is not root", () => {
  it("cannot read the relocation key (0600, root's)", (ctx) => {
    if (typeof user === "string") return ctx.skip(user);
    const r = asUser(`try { require("fs").readFileSync(process.argv[1]); console.log("read"); } catch (e) { console.log(e.code); }`, relocationKeyPath(h.root));
    expect(r.out.trim()).toBe("EACCES");
  });

  it("gets no guest through the relocation port: closed after the 40-byte challenge, nothing created, one log line", async (ctx) => {
    if (typeof user === "string") return ctx.skip(user);
    // The protocol before keys: HELLO and a RECEIVE asking for a guest started with every xend.
    const frames = Buffer.concat([
      encode(Msg.HELLO, ["xvm-relocation", ["version", "1"], ["host", "evil"]]),
      encode(Msg.RECEIVE, ["receive", ["live", "0"], ["paused", "0"], [
        "domain", ["name", "intruder"], ["memory", "32"], ["vcpus", "1"], ["on_xend_start", "start"],
        ["image", ["linux", ["kernel", "sim:idle"]]], ["device", ["vbd", ["uname", "phy:/dev/sda"], ["dev", "xvda"], ["mode", "w"]]],
      ]]),
    ]).toString("hex");
    const script = `
      const s = require("net").connect({ host: "127.0.0.1", port: Number(process.argv[1]) });
      let got = Buffer.alloc(0);
      s.on("connect", () => s.write(Buffer.from(process.argv[2], "hex")));
      s.on("data", (d) => (got = Buffer.concat([got, d])));
      s.on("error", () => {});
      s.on("close", () => console.log(JSON.stringify({ bytes: got.length, head: got.subarray(0, 8).toString("latin1") })));
    `;
    for (let i = 0; i < 3; i++) {
      const r = asUser(script, String(h.port), frames);
      expect(JSON.parse(r.out)).toEqual({ bytes: 40, head: "XVMAUTH1" });
    }
    expectNoGuests(h);
    const log = readFileSync(join(h.root, "var/log/xen/xend.log"), "utf8");
    expect(log).not.toContain("intruder");
    expect(log.split("\n").filter((l) => l.includes("Rejected connection from 127.0.0.1"))).toHaveLength(1);
  });

  it("cannot reach the control socket, and xvm xm run as that user changes nothing", (ctx) => {
    if (typeof user === "string") return ctx.skip(user);
    const socket = join(h.root, "var/run/xend/control.sock");
    const r = asUser(`
      const s = require("net").connect(process.argv[1]);
      s.on("connect", () => { console.log("connected"); s.destroy(); });
      s.on("error", (e) => console.log(e.code));
    `, socket);
    expect(r.out.trim()).toBe("EACCES");
    const u = user as TestUser;
    const xm = spawnSync(xvmBin(), ["xm", "create", "/dev/null", "name=evil", "kernel=sim:idle", "memory=32"], {
      uid: u.uid, gid: u.gid, encoding: "utf8", timeout: 30_000, env: { PATH: "/usr/bin:/bin", XVM_ROOT: h.root, HOME: "/" },
    });
    expect(xm.status).not.toBe(0);
    expect([...domains(h).keys()]).toEqual(["Domain-0"]);
  });
});
