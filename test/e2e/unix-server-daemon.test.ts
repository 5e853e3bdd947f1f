/**
 * The legacy xend HTTP interface of the real daemon (compiled binary, started by svcadm), spoken
 * in raw HTTP as libvirt's xend driver did: a libvirt session against a real guest, malformed
 * requests, and `svcadm refresh` turning the socket off, on and elsewhere without a daemon restart.
 */
import { existsSync, lstatSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { domainFromSxp, vcpuInfoFromSxp } from "../../src/domain/sxp-convert.ts";
import { parse } from "../../src/formats/sxp.ts";
import { cleanupRoot, run, tempRoot, waitFor } from "../helpers/cli.ts";
import { prepareRoot } from "../helpers/daemon.ts";
import { corpus, send } from "../helpers/legacy-fuzz.ts";
import { exchange, libvirtGet, libvirtPost, request } from "../helpers/raw-http.ts";

let root = "";
const x = (...args: string[]) => run(args, { root, timeoutMs: 60_000 });
const sock = () => join(root, "var/lib/xend/xend-socket");
const daemonPid = () => Number.parseInt(readFileSync(join(root, "var/run/xend/xend.pid"), "utf8"), 10);

async function answers(path: string): Promise<boolean> {
  try {
    return (await libvirtGet(path, "/xend/")).body === "(ls  node domain)";
  } catch {
    return false;
  }
}

/** name -> "id state" from `xm list`, with the r/b flags (which come and go) masked. */
function xmList(): Record<string, string> {
  const r = x("xm", "list");
  expect(r.code).toBe(0);
  return Object.fromEntries(r.stdout.split("\n").slice(1).filter(Boolean).map((l) => [
    l.slice(0, 40).trimEnd(), `${l.slice(41, 46).trim()} ${l.slice(47, 52).trim()} ${l.slice(59, 69).trim().replace(/^[r-][b-]/, "..")}`,
  ]));
}

function setprop(name: string, value: string): void {
  expect(x("svccfg", "-s", "xend", "setprop", `config/${name}`, "=", value)).toMatchObject({ code: 0, stderr: "" });
}

beforeAll(async () => {
  root = prepareRoot(tempRoot("xvm-us-e2e-"), { relocation: false });
  expect(x("svcadm", "enable", "-s", "xend")).toMatchObject({ code: 0, stderr: "" });
  await waitFor(() => answers(sock()), "the legacy socket to answer", 30_000);
});

afterAll(async () => {
  await cleanupRoot(root);
});

describe("a libvirt session against the daemon", () => {
  it("serves the socket 0600, in a folder only root may write (never chmodded: issue 13 §2)", () => {
    expect(lstatSync(sock()).isSocket()).toBe(true);
    expect(lstatSync(sock()).mode & 0o777).toBe(0o600);
    expect(statSync(join(root, "var/lib/xend")).mode & 0o022).toBe(0);
  });

  it("answers the node as xm info shows it, with xend_config_format 4", async () => {
    const r = await libvirtGet(sock(), "/xend/node/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/sxp");
    const node = parse(r.body) as string[][];
    const field = (k: string) => node.find((f) => f[0] === k)?.[1];
    expect(field("xend_config_format")).toBe("4");
    const info = x("xm", "info").stdout;
    for (const k of ["nr_cpus", "total_memory", "xen_major", "xen_minor", "xen_scheduler"]) {
      expect(info).toMatch(new RegExp(`^${k}\\s+: ${field(k)}$`, "m"));
    }
  });

  it("creates, inspects, pauses, balloons, dumps and shuts down a guest", async () => {
    const config = "(vm (name 'web1')(memory 64)(maxmem 128)(vcpus 2)(on_poweroff 'destroy')(on_reboot 'restart')(on_crash 'preserve')" +
      "(image (linux (kernel 'sim:counter'))))";
    const created = await libvirtPost(sock(), "/xend/domain/", [["op", "create"], ["config", config]]);
    expect(created.status).toBe(201);
    expect(created.headers.get("location")).toBe("http://localhost:8000/xend/domain/web1");
    const fromCreate = domainFromSxp(parse(created.body));
    expect(fromCreate).toMatchObject({ name: "web1", memory: 64, maxmem: 128, vcpus: 2, config: { kernel: "sim:counter", on_crash: "preserve" } });
    const domid = fromCreate.domid!;
    expect(xmList().web1).toBe(`${domid} 64 ..----`);

    expect((await libvirtGet(sock(), "/xend/domain")).body).toBe("(Domain-0 web1)");
    const byName = await libvirtGet(sock(), "/xend/domain/web1?detail=1");
    for (const path of [`/xend/domain/${domid}`, `/xend/domain/${fromCreate.uuid}`]) {
      expect(domainFromSxp(parse((await libvirtGet(sock(), path)).body)).uuid).toBe(fromCreate.uuid);
    }
    expect(domainFromSxp(parse(byName.body)).config.name).toBe("web1");

    const pause = await libvirtPost(sock(), "/xend/domain/web1", [["op", "pause"]]);
    expect([pause.status, pause.body]).toEqual([200, ""]);
    expect(xmList().web1).toBe(`${domid} 64 ..p---`);
    expect(domainFromSxp(parse((await libvirtGet(sock(), "/xend/domain/web1")).body)).flags.paused).toBe(true);
    // Pausing a paused domain is not an error, as in Xen (the pause by the controller is a flag).
    expect(await libvirtPost(sock(), "/xend/domain/web1", [["op", "pause"]])).toMatchObject({ status: 200, body: "" });
    expect((await libvirtPost(sock(), "/xend/domain/web1", [["op", "unpause"]])).status).toBe(200);
    expect(xmList().web1).toBe(`${domid} 64 ..----`);

    expect((await libvirtPost(sock(), "/xend/domain/web1", [["op", "mem_target_set"], ["target", "48"]])).status).toBe(200);
    expect(xmList().web1).toBe(`${domid} 48 ..----`);

    const vcpus = vcpuInfoFromSxp(parse((await libvirtGet(sock(), "/xend/domain/web1?op=vcpuinfo")).body));
    expect(vcpus.map((v) => [v.number, v.online])).toEqual([[0, true], [1, true]]);

    // op=dump comes from the enable-dump plugin through the legacyHttp registry.
    // A relative file lands in the dump directory (an absolute one is the control socket's).
    const core = join(root, "var/xen/dump/web1.core");
    const dump = await libvirtPost(sock(), "/xend/domain/web1", [["op", "dump"], ["file", "web1.core"], ["live", "1"], ["live", "1"], ["crash", "0"]]);
    expect(dump.status).toBeLessThan(300);
    expect(dump.body).toBe("");
    expect(statSync(core).size).toBeGreaterThan(48 * 1024 * 1024);

    const down = await libvirtPost(sock(), "/xend/domain/web1", [["op", "shutdown"], ["reason", "poweroff"]]);
    expect(down.status).toBe(202);
    expect(down.headers.get("location")).toBe("http://localhost:8000/xend/domain/web1/..");
    await waitFor(() => !("web1" in xmList()), "web1 to shut down", 30_000);
    expect((await libvirtGet(sock(), "/xend/domain/web1?detail=1")).status).toBe(404);
  });

  it("defines, starts and deletes a managed domain", async () => {
    const config = "(vm (name 'managed1')(memory 32)(image (linux (kernel 'sim:idle'))))";
    expect((await libvirtPost(sock(), "/xend/domain/", [["op", "new"], ["config", config]])).status).toBe(200);
    expect((await libvirtGet(sock(), "/xend/domain?state=halted")).body).toBe("(managed1)");
    expect((await libvirtPost(sock(), "/xend/domain/managed1", [["op", "start"]])).status).toBe(202);
    expect(xmList().managed1).toMatch(/^\d+ 32 \.\.----$/);
    expect((await libvirtPost(sock(), "/xend/domain/managed1", [["op", "destroy"]])).status).toBe(202);
    // Inactive again: listed without an id.
    await waitFor(() => xmList().managed1?.startsWith(" 32 "), "managed1 to stop", 30_000);
    expect((await libvirtPost(sock(), "/xend/domain/managed1", [["op", "delete"]])).status).toBe(202);
    expect("managed1" in xmList()).toBe(false);
  });
});

describe("bad input against the daemon", () => {
  it("answers 404, 406, 501 and 413 as xend's table says", async () => {
    expect((await libvirtGet(sock(), "/xend/domain/nope")).body).toBe(`(xend.err "Domain 'nope' does not exist.")`);
    expect((await libvirtPost(sock(), "/xend/domain/Domain-0", [])).status).toBe(406);
    const unknown = await libvirtPost(sock(), "/xend/domain/Domain-0", [["op", "frob"]]);
    expect([unknown.status, unknown.body]).toEqual([501, "Operation not implemented: frob"]);
    const big = `op=pause&x=${"a".repeat(10_000)}`;
    const r = await request(sock(), `POST /xend/domain/Domain-0 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
    expect(r.status).toBe(413);
  });

  it("survives the fuzz corpus with every domain unchanged", async () => {
    const config = "(vm (name 'web1')(memory 32)(image (linux (kernel 'sim:counter'))))";
    expect((await libvirtPost(sock(), "/xend/domain/", [["op", "create"], ["config", config]])).status).toBe(201);
    const before = xmList();
    const pid = daemonPid();
    const cases = corpus();
    expect(cases.length).toBeGreaterThanOrEqual(1000);
    for (let i = 0; i < cases.length; i += 16) await Promise.all(cases.slice(i, i + 16).map((c) => send(sock(), c)));
    expect(xmList()).toEqual(before);
    expect(daemonPid()).toBe(pid);
    expect((await libvirtGet(sock(), "/xend/domain")).body).toBe("(Domain-0 web1)");
    expect(x("svcs", "-H", "-o", "state", "xend").stdout).toBe("online\n");
  });
});

describe("svcadm refresh", () => {
  it("stops serving and removes the socket, then serves again, without restarting the daemon", async () => {
    const pid = daemonPid();
    setprop("xend-unix-server", "false");
    expect(x("svcadm", "refresh", "xend").code).toBe(0);
    await waitFor(() => !existsSync(sock()), "the socket to go away", 30_000);
    await expect(exchange(sock(), "GET /xend/ HTTP/1.0\r\n\r\n")).rejects.toThrow(/ENOENT|ECONNREFUSED/);

    setprop("xend-unix-server", "true");
    expect(x("svcadm", "refresh", "xend").code).toBe(0);
    await waitFor(() => answers(sock()), "the socket to answer again", 30_000);
    expect(lstatSync(sock()).mode & 0o777).toBe(0o600);

    setprop("xend-unix-path", "/var/run/xend/legacy-socket");
    expect(x("svcadm", "refresh", "xend").code).toBe(0);
    const moved = join(root, "var/run/xend/legacy-socket");
    await waitFor(() => answers(moved), "the moved socket to answer", 30_000);
    expect(existsSync(sock())).toBe(false);
    expect(daemonPid()).toBe(pid);
    const log = readFileSync(join(root, "var/log/xen/xend.log"), "utf8");
    expect(log).toContain(`legacy HTTP interface no longer listening on ${sock()}`);
    expect(log).toContain(`legacy HTTP interface listening on ${moved}`);
  });

  it("removes the socket when the service is disabled", async () => {
    const moved = join(root, "var/run/xend/legacy-socket");
    expect(x("svcadm", "disable", "-s", "xend").code).toBe(0);
    expect(existsSync(moved)).toBe(false);
  });
});
