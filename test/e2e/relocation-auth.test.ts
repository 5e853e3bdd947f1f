/**
 * The relocation key (issue 13 §1): a host generates its key at first start (0600); a peer without
 * the same key is refused before anything it sent is read — an `xm migrate` from it fails clearly
 * and keeps its guest, a raw RECEIVE creates nothing — and refusals are logged once per peer per
 * minute. Copying the key (`xm relocation-key --print | … --import`) lets the migration through
 * without a refresh.
 */
import { logWithoutLineNos } from "../helpers/log-lines.ts";
import { readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode, Msg } from "../../plugins/relocation/channel.ts";
import { cleanupRoot, run, tempRoot } from "../helpers/cli.ts";
import { relocationKeyPath } from "../helpers/relocation-key.ts";
import { createGuest, domains, expectNoGuests, ok, startHost, waitFor, type Host } from "../helpers/relocation.ts";
import { join } from "node:path";

let a: Host;
let b: Host;

function xendLog(h: Host): string {
  return logWithoutLineNos(readFileSync(join(h.root, "var/log/xen/xend.log"), "utf8"));
}

/** Talks as an attacker who knows the old protocol: HELLO and RECEIVE at once, no key. */
function attack(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let got = "";
    socket.on("connect", () => {
      socket.write(encode(Msg.HELLO, ["xvm-relocation", ["version", "1"], ["host", "evil"]])); // the protocol before keys
      socket.write(encode(Msg.RECEIVE, ["receive", ["live", "0"], ["paused", "0"], [
        "domain", ["name", "intruder"], ["memory", "32"], ["vcpus", "1"], ["on_xend_start", "start"],
        ["image", ["linux", ["kernel", "sim:idle"]]],
      ]]));
    });
    socket.on("data", (d: Buffer) => (got += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => resolve(got));
  });
}

beforeAll(async () => {
  // b generates its own key (a fresh install); a holds the test's shared key.
  [a, b] = await Promise.all([startHost("auth-a"), startHost("auth-b", {}, {}, null)]);
});

afterAll(async () => {
  for (const h of [a, b]) if (h) await cleanupRoot(h.root, [h.xend.pid]);
});

describe("relocation key", () => {
  it("is generated at first start into etc/xen/relocation.key, mode 0600, and shown by xm relocation-key", () => {
    const path = relocationKeyPath(b.root);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
    const shown = ok(b.x("xm", "relocation-key"));
    expect(shown).toMatch(new RegExp(`^${path}\\nfingerprint [0-9a-f]{4}(:[0-9a-f]{4}){3}\\n$`));
    expect(xendLog(b)).toContain(`generated the relocation key ${path} (fingerprint ${shown.split("fingerprint ")[1]!.trim()})`);
  });

  it("says how to get a key on a root that has none yet", async () => {
    const fresh = tempRoot("xvm-reloc-nokey-");
    try {
      const r = run(["xm", "relocation-key"], { root: fresh });
      expect(r).toMatchObject({ code: 1, stderr: `Error: ${relocationKeyPath(fresh)} does not exist yet: xend creates it at its first start, or run 'xm relocation-key --generate' (or --import a key from another host)\n` });
      expect(ok(run(["xm", "relocation-key", "--generate"], { root: fresh }))).toMatch(/: key generated, fingerprint /);
      expect(statSync(relocationKeyPath(fresh)).mode & 0o777).toBe(0o600);
    } finally {
      await cleanupRoot(fresh);
    }
  });

  it("refuses a source without the key on both sides; the guest stays at the source", async () => {
    createGuest(a, "web1", 'kernel = "sim:counter"\nmemory = 32');
    const r = a.x("xm", "migrate", "-l", "-p", String(b.port), "web1", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: the relocation server at 127.0.0.1:${b.port} does not share this host's relocation key (the server refused this host's key: the two hosts do not share the same key); copy the key: see 'xm relocation-key --help'\n`);
    expect(domains(a).get("web1")!.state).toMatch(/^[r-][b-]----$/);
    expectNoGuests(b);
    await waitFor(() => xendLog(b).includes("WARNING (relocation/reject-log) Rejected connection from 127.0.0.1 (localhost): it does not hold this host's relocation key."), "the refusal in b's log");
  });

  it("closes a peer that sends HELLO and RECEIVE without the handshake: no domain is created, one log line per minute", async () => {
    for (let i = 0; i < 5; i++) {
      const answer = await attack(b.port);
      // Only the 40-byte challenge came back: no HELLO, no ERROR, nothing about domains.
      expect(answer.startsWith("XVMAUTH1")).toBe(true);
      expect(answer.length).toBe(40);
    }
    expectNoGuests(b);
    expect(xendLog(b)).not.toContain("intruder");
    const lines = xendLog(b).split("\n").filter((l) => l.includes("Rejected connection from 127.0.0.1"));
    expect(lines).toHaveLength(1);
  });

  it("lets the migration through once the key is copied (xm relocation-key --print | --import), without a refresh", async () => {
    const key = ok(b.x("xm", "relocation-key", "--print"));
    expect(key).toMatch(/^[0-9a-f]{64}\n$/);
    const imported = run(["xm", "relocation-key", "--import"], { root: a.root, input: key });
    expect(imported.code, imported.stderr).toBe(0);
    expect(statSync(relocationKeyPath(a.root)).mode & 0o777).toBe(0o600);
    expect(ok(a.x("xm", "relocation-key")).split("\n")[1]).toBe(ok(b.x("xm", "relocation-key")).split("\n")[1]);
    const r = a.x("xm", "migrate", "-l", "-p", String(b.port), "web1", "127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    expect(domains(b).has("web1")).toBe(true);
    expect(domains(a).has("web1")).toBe(false);
  });

  it("refuses a key property that is not a path (the key never goes into the repository), and xm relocation-key says so", async () => {
    ok(b.x("svccfg", "-s", "xend", "setprop", "config/xend-relocation-key", "=", "astring:", "hunter2hunter2hunter2"));
    ok(b.x("svccfg", "-s", "xend:default", "refresh"));
    await b.api("POST", "/refresh");
    const status = await b.api<{ state: string; reasons: string[] }>("GET", "/status");
    expect(status.state).toBe("degraded");
    expect(status.reasons.join("\n")).toContain("config/xend-relocation-key: must be empty (the generated key file /etc/xen/relocation.key) or the absolute path of a key file");
    expect(b.x("xm", "relocation-key")).toMatchObject({ code: 1, stderr: "Error: config/xend-relocation-key: 'hunter2hunter2hunter2' must be empty (the generated key file /etc/xen/relocation.key) or the absolute path of a key file; the key itself never goes into the repository, which every local user can read\n" });
  });
});
