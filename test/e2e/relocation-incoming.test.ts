/**
 * What a migrated-in domain may carry (issue 13 §1): a migration never replaces or edits a domain
 * it did not create (an inactive managed domain with the uuid, a running one with the name, the
 * source itself when migrating to the same xend), the config is checked as `xm create` checks one,
 * host paths outside config/xend-relocation-paths-allow are refused, on_xend_start is dropped with
 * a warning, and what the peer sent is bounded (devices, frame size) and escaped before it is
 * logged. The raw cases talk to the relocation server as a peer holding the key would.
 */
import { connect } from "node:net";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Channel, Msg, errorText, type Message } from "../../plugins/relocation/channel.ts";
import { helloSxp } from "../../plugins/relocation/receive.ts";
import type { Sxp } from "../../src/formats/sxp.ts";
import { connectPeer } from "../../src/security/peer-auth.ts";
import { RELOCATION_AUTH_PURPOSE } from "../../src/security/relocation-key.ts";
import { logWithoutLineNos } from "../helpers/log-lines.ts";
import { cleanupRoot } from "../helpers/cli.ts";
import { TEST_RELOCATION_KEY } from "../helpers/relocation-key.ts";
import { createGuest, domains, expectNoGuests, ok, setProps, startHost, uuidOf, waitFor, type Host } from "../helpers/relocation.ts";

let a: Host;
let b: Host;

/** xend.log without the line numbers of its `(module:lineno)` locations. */
function xendLog(h: Host): string {
  return logWithoutLineNos(readFileSync(join(h.root, "var/log/xen/xend.log"), "utf8"));
}

/** An authenticated peer that sends HELLO then `receive` (or raw bytes) and returns the answer. */
async function send(port: number, receive: Sxp | Buffer): Promise<Message | "closed"> {
  const socket = connect({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  await new Promise<void>((r) => socket.once("connect", () => r()));
  await connectPeer(socket, TEST_RELOCATION_KEY, { purpose: RELOCATION_AUTH_PURPOSE });
  const ch = new Channel(socket);
  socket.resume();
  ch.send(Msg.HELLO, helloSxp());
  await ch.next(10_000, "HELLO");
  if (Buffer.isBuffer(receive)) socket.write(receive);
  else ch.send(Msg.RECEIVE, receive);
  try {
    return await ch.next(20_000, "answer");
  } catch {
    return "closed";
  } finally {
    ch.close();
  }
}

function receiveOf(domain: Sxp[]): Sxp {
  return ["receive", ["live", "0"], ["paused", "0"], ["domain", ...domain]];
}

beforeAll(async () => {
  [a, b] = await Promise.all([startHost("in-a"), startHost("in-b")]);
});

afterAll(async () => {
  for (const h of [a, b]) if (h) await cleanupRoot(h.root, [h.xend.pid]);
});

describe("a migration never replaces a domain", () => {
  it("refuses a uuid that belongs to an inactive managed domain there; its config.json stays as it was", async () => {
    const uuid = "6d1b8f3c-52a4-4c35-9a57-2f0b6a1e4c01";
    writeFileSync(join(b.root, "admin1.cfg"), `name = "admin1"\nuuid = "${uuid}"\nkernel = "sim:idle"\nmemory = 32\ndisk = ['phy:/dev/zvol/dsk/rpool/admin1,xvda,w']\n`);
    ok(b.x("xm", "new", join(b.root, "admin1.cfg")));
    const stored = join(b.root, "var/lib/xend/domains", uuid, "config.json");
    const before = readFileSync(stored, "utf8");
    createGuest(a, "visitor", `uuid = "${uuid}"\nkernel = "sim:idle"\nmemory = 32\non_xend_start = "start"`);
    const r = a.x("xm", "migrate", "-p", String(b.port), "visitor", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: migration of visitor failed: the destination refused the domain: Restore failed: the uuid ${uuid} belongs to an inactive managed domain here ('admin1'); a migration never replaces a domain\n`);
    expect(readFileSync(stored, "utf8")).toBe(before);
    expect(readdirSync(join(b.root, "var/lib/xend/domains"))).toEqual([uuid]);
    expect(await b.api("GET", "/domains/admin1")).toMatchObject({ domid: null, managed: true, uuid });
    expect(domains(a).get("visitor")!.state).toMatch(/^[r-][b-]----$/);
    ok(a.x("xm", "destroy", "visitor"));
    ok(b.x("xm", "delete", "admin1"));
  });

  it("refuses the name of a crashed domain kept there (on_crash preserve)", async () => {
    createGuest(b, "kept1", 'kernel = "sim:counter"\nmemory = 16\non_crash = "preserve"');
    ok(b.x("xm", "sysrq", "kept1", "c"));
    await waitFor(() => domains(b).get("kept1")?.state.includes("c") === true, "kept1 crashed and kept");
    createGuest(a, "kept1", 'kernel = "sim:idle"\nmemory = 16');
    const r = a.x("xm", "migrate", "-p", String(b.port), "kept1", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: migration of kept1 failed: the destination refused the domain: Restore failed: the name kept1 belongs to a domain kept after it stopped here ('kept1'); a migration never replaces a domain\n");
    expect(domains(b).get("kept1")!.state).toContain("c");
    expect(domains(a).get("kept1")!.state).toMatch(/^[r-][b-]----$/);
    ok(a.x("xm", "destroy", "kept1"));
    ok(b.x("xm", "destroy", "kept1"));
  });

  it("refuses a migration to the same xend (its own source copy holds the uuid) and keeps the guest", async () => {
    createGuest(a, "self1", 'kernel = "sim:counter"\nmemory = 32');
    const uuid = await uuidOf(a, "self1");
    const r = a.x("xm", "migrate", "-p", String(a.port), "self1", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`Error: migration of self1 failed: the destination refused the domain: Restore failed: the uuid ${uuid} belongs to the domain being migrated away (a domain cannot migrate to the host it runs on) here ('migrating-self1'); a migration never replaces a domain\n`);
    expect(domains(a).get("self1")!.state).toMatch(/^[r-][b-]----$/);
    expect(domains(a).has("migrating-self1")).toBe(false);
    ok(a.x("xm", "destroy", "self1"));
  });
});

describe("what a migrated domain may carry", () => {
  it("refuses a host disk outside config/xend-relocation-paths-allow, and lets it in once allowed", async () => {
    const images = join(a.root, "images");
    mkdirSync(images);
    writeFileSync(join(images, "d1.img"), "");
    // disk3's file, outside the allowed folder: it must exist for xm create (a missing disk is refused there).
    writeFileSync(join(a.root, "d1.img"), "");
    // A device that exists on every host: xm create checks that a disk's backing device is there.
    createGuest(a, "disk1", `kernel = "sim:idle"\nmemory = 32\ndisk = ['phy:/dev/null,xvda,w']`);
    const r = a.x("xm", "migrate", "-p", String(b.port), "disk1", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("Error: migration of disk1 failed: the destination refused the domain: Restore failed: domain disk1 is refused here: disk 0 'phy:/dev/null,xvda,w': /dev/null is a host path, and config/xend-relocation-paths-allow allows none; only an administrator of this host may give a guest a host disk (xm create)\n");
    expect(domains(a).has("disk1")).toBe(true);
    ok(a.x("xm", "destroy", "disk1"));

    setProps(b.root, { "xend-relocation-paths-allow": `"${images}"` });
    await b.api("POST", "/refresh");
    createGuest(a, "disk2", `kernel = "sim:idle"\nmemory = 32\ndisk = ['file:${images}/../images/d1.img,xvda,w']`);
    expect(a.x("xm", "migrate", "-p", String(b.port), "disk2", "127.0.0.1").code).toBe(0);
    createGuest(a, "disk3", `kernel = "sim:idle"\nmemory = 32\ndisk = ['file:${images}/../d1.img,xvda,w']`);
    const out = a.x("xm", "migrate", "-p", String(b.port), "disk3", "127.0.0.1");
    expect(out.stderr).toContain(`${images}/../d1.img is outside config/xend-relocation-paths-allow (${images})`);
    ok(a.x("xm", "destroy", "disk3"));
    ok(b.x("xm", "destroy", "disk2"));
  });

  it("drops on_xend_start (and a vif script) with a warning: the domain arrives unmanaged", async () => {
    createGuest(a, "boot1", `kernel = "sim:idle"\nmemory = 32\non_xend_start = "start"\nvif = ['bridge=lo, script=/tmp/evil.sh']`);
    const r = a.x("xm", "migrate", "-p", String(b.port), "boot1", "127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    const there = await b.api<{ managed: boolean; config: { on_xend_start?: string; vif: Array<{ script?: string }> } }>("GET", "/domains/boot1");
    expect(there.managed).toBe(false);
    expect(there.config.on_xend_start).toBeUndefined();
    expect(there.config.vif[0]!.script).toBeUndefined();
    expect(xendLog(b)).toMatch(/WARNING \(relocation\/receive\) domain boot1 from 127\.0\.0\.1 \(localhost\): dropped what only an administrator of this host may set: on_xend_start start, vif 0 script \/tmp\/evil\.sh\n/);
    ok(b.x("xm", "destroy", "boot1"));
  });
});

describe("raw requests from a peer holding the key", () => {
  it("checks the config as xm create does and logs the refusal escaped (no forged line)", async () => {
    const answer = await send(b.port, receiveOf([["name", "evil\n[2026-01-01 00:00:00 1] INFO (xend) forged"], ["memory", "32"], ["image", ["linux", ["kernel", "sim:idle"]]]]));
    expect(answer).not.toBe("closed");
    expect(errorText((answer as Message).body)).toContain("Restore failed: name 'evil\n[2026-01-01 00:00:00 1] INFO (xend) forged' may contain only letters");
    // The peer may read the answer before xend has written its log line: wait for the line.
    const refusal = "Restore failed (migration from 127.0.0.1 (localhost)): name 'evil\\n[2026-01-01 00:00:00 1] INFO (xend) forged' may contain only letters";
    await waitFor(() => xendLog(b).includes(refusal), "the refusal in xend.log", 10_000);
    expect(xendLog(b)).not.toMatch(/^\[2026-01-01 00:00:00 1\] INFO \(xend\) forged/m);
    const huge = await send(b.port, receiveOf([["name", "big1"], ["memory", String(64 * 1024 * 1024)], ["image", ["linux", ["kernel", "sim:idle"]]]]));
    expect(errorText((huge as Message).body)).toBe("Restore failed: memory must be between 1 and 1048576 MiB, not 67108864");
    expectNoGuests(b);
  });

  it("refuses more than 32 devices before converting them, and closes a frame over 256 KiB unread", async () => {
    const vifs: Sxp[] = Array.from({ length: 40 }, () => ["device", ["vif", ["bridge", "xenbr0"]]]);
    const many = await send(b.port, receiveOf([["name", "many1"], ["memory", "32"], ["image", ["linux", ["kernel", "sim:idle"]]], ...vifs]));
    expect(errorText((many as Message).body)).toBe("Restore failed: the domain has 40 devices; at most 32 may come in");
    const header = Buffer.alloc(8);
    header.writeUInt32BE(4 + 300 * 1024, 0);
    header.writeUInt8(Msg.RECEIVE, 4);
    expect(await send(b.port, Buffer.concat([header, Buffer.alloc(1024, 0x28)]))).toBe("closed");
    expectNoGuests(b);
  });
});
