/**
 * The legacy xend HTTP interface over its Unix socket, spoken in raw HTTP as libvirt's xend driver
 * did (a new connection per request, no User-Agent, no Accept), against a domain-manager double.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parse, show } from "../../src/formats/sxp.ts";
import type { LegacyDomainOp } from "../../src/plugin/contract.ts";
import { startLegacyServer, stopLegacyServer, type LegacyServer } from "../helpers/legacy-server.ts";
import { exchange, libvirtGet, libvirtPost, parseResponse, request, type RawResponse } from "../helpers/raw-http.ts";

let server: LegacyServer | undefined;
let root: string;
let domains: LegacyServer["domains"];
let h: LegacyServer["h"];
let sock: string;

beforeEach(async () => {
  server = await startLegacyServer("xvm-us-http-");
  ({ root, domains, h, sock } = server);
});

afterEach(async () => {
  await stopLegacyServer(server);
  server = undefined;
});

const get = (path: string) => libvirtGet(sock, path);
const post = (path: string, pairs: [string, string][]) => libvirtPost(sock, path, pairs);

function expectXendHeaders(r: RawResponse): void {
  expect(r.headers.get("pragma")).toBe("no-cache");
  expect(r.headers.get("cache-control")).toBe("no-cache");
  expect(r.headers.get("expires")).toBe("-1");
  expect(r.headers.get("content-length")).toBe(String(Buffer.byteLength(r.body)));
}

function expectSxp(r: RawResponse, status: number, body: string): void {
  expect(r.statusLine).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
  expect(r.headers.get("content-type")).toBe("application/sxp");
  expect(r.body).toBe(body);
  expectXendHeaders(r);
}

function expectEmpty(r: RawResponse, status: number): void {
  expect(r.status).toBe(status);
  expect(r.body).toBe("");
  expect(r.headers.has("content-type")).toBe(false);
  expectXendHeaders(r);
}

describe("the URL tree", () => {
  it("lists the root and /xend/ as xend's SrvDir did", async () => {
    expectSxp(await get("/"), 200, "(ls  xend)");
    expectSxp(await get("/xend/"), 200, "(ls  node domain)");
    expectSxp(await get("/xend"), 200, "(ls  node domain)");
  });

  it("answers the node as the domain manager reports it, with xend_config_format 4", async () => {
    const r = await get("/xend/node/");
    expectSxp(r, 200, "(node (host double) (release 5.10.0-sim) (version '#1 SMP') (machine x86_64) (nr_cpus 4) (nr_nodes 1) " +
      "(cores_per_socket 2) (threads_per_core 2) (cpu_mhz 2400) (hw_caps '') (total_memory 8192) (free_memory 5632) " +
      "(node_to_cpu node0:0-3) (xen_major 3) (xen_minor 4) (xen_extra .0-sim) (xen_caps xen-3.0-x86_64) (xen_scheduler credit) " +
      "(xen_pagesize 4096) (xend_config_format 4))");
  });

  it("answers dmesg and the log as text/plain, and op=clear empties the ring", async () => {
    const d = await get("/xend/node/dmesg");
    expect(d.status).toBe(200);
    expect(d.headers.get("content-type")).toBe("text/plain");
    expect(d.body).toBe("(XEN) Xen version 3.4.0 (simulated)\n(XEN) Scheduler: SMP Credit Scheduler (credit)\n");
    expectEmpty(await post("/xend/node/dmesg", [["op", "clear"]]), 200);
    expect((await get("/xend/node/dmesg")).body).toBe("");

    expect((await get("/xend/node/log")).body).toBe("");
    mkdirSync(join(root, "var/log/xen"), { recursive: true });
    writeFileSync(join(root, "var/log/xen/xend.log"), "[2026-01-01 00:00:00 1] INFO (SrvDaemon:1) Xend started.\n");
    const log = await get("/xend/node/log");
    expect(log.headers.get("content-type")).toBe("text/plain");
    expect(log.body).toBe("[2026-01-01 00:00:00 1] INFO (SrvDaemon:1) Xend started.\n");
  });

  it("treats node shutdown and reboot as the no-ops xend made them", async () => {
    expectSxp(await post("/xend/node/", [["op", "shutdown"]]), 200, "0");
    expectSxp(await post("/xend/node/", [["op", "reboot"]]), 200, "0");
    expect(domains.mutations).toEqual([]);
  });

  it("answers 404 with an empty body for a path outside the tree", async () => {
    for (const path of ["/xend/vnet/", "/xend/domain/web1/extra", "/nope", "/xend/node/else"]) expectEmpty(await get(path), 404);
  });
});

describe("GET /xend/domain", () => {
  it("lists the names of every domain that exists (paused included), ids in order", async () => {
    expectSxp(await get("/xend/domain"), 200, "(Domain-0 web1 db1)");
    expectSxp(await get("/xend/domain/"), 200, "(Domain-0 web1 db1)");
  });

  it("filters on ?state= as xend did (case-insensitive)", async () => {
    expectSxp(await get("/xend/domain?state=halted"), 200, "(spare)");
    expectSxp(await get("/xend/domain?state=Paused"), 200, "(db1)");
    expectSxp(await get("/xend/domain?state=running"), 200, "(Domain-0 web1)");
    expectSxp(await get("/xend/domain?state=all"), 200, "(Domain-0 web1 db1 spare)");
    expectSxp(await get("/xend/domain?state=exploded"), 200, "()");
  });

  it("gives full records for detail=1 exactly, names otherwise", async () => {
    const r = await get("/xend/domain?detail=1");
    const list = parse(r.body) as unknown[][];
    expect(list.map((d) => (d.find((f) => Array.isArray(f) && f[0] === "name") as string[])[1])).toEqual(["Domain-0", "web1", "db1"]);
    expect(list.every((d) => d[0] === "domain")).toBe(true);
    expectSxp(await get("/xend/domain?detail=true"), 200, "(Domain-0 web1 db1)");
    const halted = parse((await get("/xend/domain?detail=1&state=halted")).body) as unknown[][];
    expect(halted).toHaveLength(1);
  });

  it("answers the same record for a name, an id, a uuid and an encoded name", async () => {
    const byName = await get("/xend/domain/web1?detail=1");
    expect(byName.status).toBe(200);
    expect(byName.body.startsWith("(domain (domid 1) (uuid 11111111-2222-4333-8444-555555555555) (vcpus 4) (name web1)")).toBe(true);
    expect(byName.body).toContain("(maxmem 1024) (memory 512)");
    expect(byName.body).toContain("(state -b----)");
    for (const path of ["/xend/domain/1", "/xend/domain/11111111-2222-4333-8444-555555555555", "/xend/domain/we%62%31", "/xend/domain/web1/"]) {
      expect((await get(path)).body).toBe(byName.body);
    }
  });

  it("answers 404 with (xend.err …) for an unknown domain, whatever the encoding", async () => {
    expectSxp(await get("/xend/domain/nope?detail=1"), 404, `(xend.err "Domain 'nope' does not exist.")`);
    expect((await get("/xend/domain/%zz")).status).toBe(404);
    expect((await get("/xend/domain/%ff%fe")).status).toBe(404);
    expect((await get("/xend/domain/42")).status).toBe(404);
  });

  it("answers vcpuinfo on GET, and ignores other ops on GET as xend did", async () => {
    const r = await get("/xend/domain/web1?op=vcpuinfo");
    expectSxp(r, 200, "(domain (domid 1) (name web1) (vcpu_count 4) " +
      "(vcpu (number 0) (online 1) (blocked 1) (running 0) (cpu_time 0.0) (cpu 0) (cpumap (0 1 2 3))) " +
      "(vcpu (number 1) (online 1) (blocked 1) (running 0) (cpu_time 0.0) (cpu 1) (cpumap (0 1 2 3))) " +
      "(vcpu (number 2) (online 0) (blocked 0) (running 0) (cpu_time 0.0) (cpu -1) (cpumap (0 1 2 3))) " +
      "(vcpu (number 3) (online 0) (blocked 0) (running 0) (cpu_time 0.0) (cpu -1) (cpumap (0 1 2 3))))");
    const g = await get("/xend/domain/web1?op=destroy");
    expect(g.body.startsWith("(domain (domid 1)")).toBe(true);
    expect(domains.mutations).toEqual([]);
  });
});

describe("POST /xend/domain/<dom> ops", () => {
  it("pauses and unpauses: 200, empty body", async () => {
    expectEmpty(await post("/xend/domain/web1", [["op", "pause"]]), 200);
    expect((await domains.get("web1")).state).toBe("--p---");
    expectEmpty(await post("/xend/domain/1", [["op", "unpause"]]), 200);
    expect((await domains.get("web1")).state).toBe("-b----");
    expect(domains.mutations).toEqual(["pause 1", "unpause 1"]);
  });

  it("answers 202 and Location …/.. for the ops xend accepted", async () => {
    const cases: [string, [string, string][], string][] = [
      ["web1", [["op", "shutdown"], ["reason", "reboot"]], "shutdown 1 reboot"],
      ["web1", [["op", "rename"], ["name", "www1"]], "rename 1 www1"],
      ["www1", [["op", "sysrq"], ["key", "115"]], "sysrq 1 s"],
      ["www1", [["op", "sysrq"], ["key", "c"]], "sysrq 1 c"],
      ["www1", [["op", "wait_for_devices"]], ""],
      ["www1", [["op", "destroy"]], "destroy 1"],
      ["spare", [["op", "start"], ["paused", "1"]], 'start spare {"paused":true}'],
      ["db1", [["op", "shutdown"], ["reason", "poweroff"]], "shutdown 2 poweroff"],
    ];
    for (const [dom, pairs, mutation] of cases) {
      const before = domains.mutations.length;
      const r = await post(`/xend/domain/${dom}`, pairs);
      expectEmpty(r, 202);
      expect(r.headers.get("location")).toBe(`http://localhost:8000/xend/domain/${dom}/..`);
      expect(domains.mutations.slice(before)).toEqual(mutation ? [mutation] : []);
    }
    expect(domains.sysrqs).toEqual(["www1:s", "www1:c"]);
    expect((await domains.get("spare")).state).toBe("--p---");
  });

  it("deletes an inactive managed domain", async () => {
    expectEmpty(await post("/xend/domain/spare", [["op", "delete"]]), 202);
    expect((await get("/xend/domain/spare")).status).toBe(404);
  });

  it("sets memory and vCPUs and pins vCPUs in each cpumap form libvirt used", async () => {
    expectEmpty(await post("/xend/domain/web1", [["op", "maxmem_set"], ["memory", "2048"]]), 200);
    expectEmpty(await post("/xend/domain/web1", [["op", "mem_target_set"], ["target", "768"]]), 200);
    expectEmpty(await post("/xend/domain/web1", [["op", "set_vcpus"], ["vcpus", "3"]]), 200);
    expectEmpty(await post("/xend/domain/web1", [["op", "pincpu"], ["vcpu", "0"], ["cpumap", "0,1"]]), 200);
    expectEmpty(await post("/xend/domain/web1", [["op", "pincpu"], ["vcpu", "1"], ["cpumap", "[2,3]"]]), 200);
    expectEmpty(await post("/xend/domain/web1", [["op", "pincpu"], ["vcpu", "2"], ["cpumap", "0-3,^2"]]), 200);
    expect(domains.mutations).toEqual([
      "setMaxMemory 1 2048", "setMemoryTarget 1 768", "setVcpus 1 3",
      "pinVcpu 1 0 [0,1]", "pinVcpu 1 1 [2,3]", "pinVcpu 1 2 [0,1,3]",
    ]);
    const d = await domains.get("web1");
    expect([d.maxmem, d.memory, d.vcpus]).toEqual([2048, 768, 3]);
    expect((await get("/xend/domain/web1")).body).toContain("(maxmem 2048) (memory 768) (vcpu_avail 7)");
  });

  it("sets the credit scheduler's weight and cap as libvirt's schedinfo did", async () => {
    expectSxp(await post("/xend/domain/web1", [["op", "domain_sched_credit_set"], ["weight", "512"], ["cap", "50"]]), 200, "0");
    expectSxp(await post("/xend/domain/web1", [["op", "domain_sched_credit_set"], ["cap", "20"]]), 200, "0");
    expect(domains.mutations.slice(-2)).toEqual(["setSchedCredit 1 512 50", "setSchedCredit 1 - 20"]);
    const body = (await get("/xend/domain/web1")).body;
    expect(body).toContain("(cpu_weight 512)");
    expect(body).toContain("(cpu_cap 20)");
    expectSxp(await post("/xend/domain/web1", [["op", "domain_sched_credit_set"], ["weight", "many"]]), 500, `(xend.err "invalid literal for int() with base 10: 'many'")`);
  });

  it("answers 500 with (xend.err …) for bad parameters and refused ops", async () => {
    const cases: [string, [string, string][], string][] = [
      ["web1", [["op", "shutdown"]], "(xend.err 'Missing parameter: reason')"],
      ["web1", [["op", "shutdown"], ["reason", "explode"]], "(xend.err 'Invalid reason: explode')"],
      ["web1", [["op", "mem_target_set"], ["target", "lots"]], `(xend.err "invalid literal for int() with base 10: 'lots'")`],
      ["web1", [["op", "mem_target_set"], ["target", "4096"]], "(xend.err 'memory target 4096 MiB is not within 1..1024 MiB')"],
      ["web1", [["op", "pincpu"], ["vcpu", "0"], ["cpumap", "x"]], "(xend.err \"invalid cpumap 'x': expected CPU numbers such as 0,2-3\")"],
      ["db1", [["op", "pause"]], `(xend.err "Domain 'db1' is paused; cannot pause.")`],
      ["Domain-0", [["op", "destroy"]], "(xend.err 'Cannot destroy privileged domain Domain-0')"],
      ["web1", [["op", "rename"], ["name", "db1"]], `(xend.err "Domain 'db1' already exists with ID '2'")`],
      ["web1", [["op", "sysrq"], ["key", "bad"]], `(xend.err "invalid literal for int() with base 10: 'bad'")`],
    ];
    for (const [dom, pairs, body] of cases) expectSxp(await post(`/xend/domain/${dom}`, pairs), 500, body);
    expect((await domains.get("web1")).memory).toBe(512);
    expect(h.log.lines).toContain("WARNING (unix-server) Request shutdown failed: Invalid reason: explode");
  });

  it("answers 406 for a missing or repeated op and 501 for an unknown one", async () => {
    expectEmpty(await post("/xend/domain/web1", []), 406);
    expectEmpty(await post("/xend/domain/web1", [["op", "pause"], ["op", "pause"]]), 406);
    for (const op of ["frobnicate", "save", "device_create", "domain_sched_sedf_set", "dump", "migrate"]) {
      const r = await post("/xend/domain/web1", [["op", op]]);
      expect(r.status).toBe(501);
      expect(r.headers.get("content-type")).toBe("text/plain");
      expect(r.body).toBe(`Operation not implemented: ${op}`);
    }
    expect(domains.mutations).toEqual([]);
  });

  it("answers 404 before looking at the op of an unknown domain", async () => {
    expectSxp(await post("/xend/domain/ghost", [["op", "frobnicate"]]), 404, `(xend.err "Domain 'ghost' does not exist.")`);
  });

  it("accepts identical duplicate parameters, refuses differing ones, ignores unknown ones", async () => {
    expectEmpty(await post("/xend/domain/web1", [["op", "mem_target_set"], ["target", "300"], ["target", "300"], ["colour", "blue"], ["colour", "red"]]), 200);
    expectSxp(await post("/xend/domain/web1", [["op", "mem_target_set"], ["target", "300"], ["target", "301"]]), 500, "(xend.err 'Too many values for target')");
    expect(domains.mutations).toEqual(["setMemoryTarget 1 300"]);
  });

  it("takes the body's value over the query's, as xend's dict.update did", async () => {
    const body = "op=mem_target_set&target=400";
    const r = await request(sock, `POST /xend/domain/web1?target=999&op=pause HTTP/1.1\r\nHost: localhost:8000\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    expectEmpty(r, 200);
    expect(domains.mutations).toEqual(["setMemoryTarget 1 400"]);
  });
});

describe("POST /xend/domain/ (create, new, list)", () => {
  const config = "(vm (name 'web2')(memory 128)(maxmem 256)(vcpus 1)(on_poweroff 'destroy')(on_reboot 'restart')(on_crash 'restart')" +
    "(image (linux (kernel 'sim:counter')(args 'hz=10')))(device (vbd (dev 'xvda')(uname 'phy:/dev/vg/web2')(mode 'w')))" +
    "(device (vif (mac '00:16:3e:00:00:02')(bridge 'xenbr0'))))";

  it("creates from libvirt's (vm …): 201 created, Location and the domain record", async () => {
    const r = await post("/xend/domain/", [["op", "create"], ["config", config]]);
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe("http://localhost:8000/xend/domain/web2");
    expect(r.headers.get("content-type")).toBe("application/sxp");
    expect(r.body.startsWith("(domain (domid 3) (uuid ")).toBe(true);
    expect(r.body).toContain("(name web2)");
    expect(r.body).toContain("(image (linux (kernel sim:counter) (args 'hz=10')))");
    expect(r.body).toContain("(device (vif (mac 00:16:3e:00:00:02) (bridge xenbr0))) (device (vbd (uname phy:/dev/vg/web2) (dev xvda) (mode w)))");
    const created = await domains.get("web2");
    expect(created.config).toMatchObject({ memory: 128, maxmem: 256, kernel: "sim:counter", extra: "hz=10", disk: ["phy:/dev/vg/web2,xvda,w"], vif: [{ mac: "00:16:3e:00:00:02", bridge: "xenbr0" }] });
    expect(domains.mutations).toEqual(['create web2 {}']);
  });

  it("creates from a multipart form, as xend's HTML form sent it", async () => {
    const boundary = "----xvmBoundary7MA4YWxk";
    const body = [
      `--${boundary}\r\nContent-Disposition: form-data; name="op"\r\n\r\ncreate\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="config"; filename="web2.sxp"\r\nContent-Type: application/octet-stream\r\n\r\n${config}\n\r\n`,
      `--${boundary}--\r\n`,
    ].join("");
    const r = await request(sock, `POST /xend/domain/ HTTP/1.1\r\nHost: localhost:8000\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    expect(r.status).toBe(201);
    expect((await domains.get("web2")).config.kernel).toBe("sim:counter");
  });

  it("refuses a bad or duplicate config with (xend.err …) and creates nothing", async () => {
    expectSxp(await post("/xend/domain/", [["op", "create"], ["config", "(vm (name x)"]]), 500,
      "(xend.err 'Invalid configuration unexpected EOF: list opened here is not closed (line 1, column 1)')");
    expectSxp(await post("/xend/domain/", [["op", "create"], ["config", "(vm (name x) (memory lots) (image (linux (kernel k))))"]]), 500,
      "(xend.err 'Error creating domain: (memory lots): not an integer')");
    expectSxp(await post("/xend/domain/", [["op", "create"]]), 500, "(xend.err 'Missing parameter: config')");
    expectSxp(await post("/xend/domain/", [["op", "create"], ["config", config.replace("web2", "web1")]]), 500,
      `(xend.err "Error creating domain: Domain 'web1' already exists with ID '1'")`);
    expect(domains.mutations).toEqual(["create web1 {}"]);
    expectSxp(await get("/xend/domain"), 200, "(Domain-0 web1 db1)");
  });

  it("defines with op=new (200, empty) and lists with op=list", async () => {
    expectEmpty(await post("/xend/domain/", [["op", "new"], ["config", config]]), 200);
    expect((await domains.get("web2")).domid).toBeNull();
    expectSxp(await get("/xend/domain?state=halted"), 200, "(spare web2)");
    const listed = parse((await post("/xend/domain/", [["op", "list"]])).body) as unknown[];
    expect(listed).toHaveLength(3);
    expect(await post("/xend/domain/", [["op", "restore"], ["file", "/tmp/x"]])).toMatchObject({ status: 501, body: "Operation not implemented: restore" });
  });
});

describe("ops contributed through the legacyHttp registry", () => {
  it("serves a registered op with its params, 202 when accepted, and stops when unregistered", async () => {
    const seen: unknown[] = [];
    const dump: LegacyDomainOp = {
      params: ["file"],
      optional: ["live", "crash", "reset"],
      accepted: true,
      run(d, args) {
        seen.push({ dom: d.name, args });
        return undefined;
      },
    };
    const off = h.ctx.legacyHttp!.registerDomainOp("dump", dump);
    const r = await post("/xend/domain/web1", [["op", "dump"], ["file", "/var/xen/dump/x.core"], ["live", "0"], ["live", "0"], ["crash", "1"], ["extra", "ignored"]]);
    expectEmpty(r, 202);
    expect(r.headers.get("location")).toBe("http://localhost:8000/xend/domain/web1/..");
    expect(seen).toEqual([{ dom: "web1", args: { file: "/var/xen/dump/x.core", live: "0", crash: "1" } }]);
    expectSxp(await post("/xend/domain/web1", [["op", "dump"], ["file", "f"], ["live", "0"], ["live", "1"]]), 500, "(xend.err 'Too many values for live')");
    expectSxp(await post("/xend/domain/web1", [["op", "dump"]]), 500, "(xend.err 'Missing parameter: file')");
    expect(seen).toHaveLength(1);
    off();
    expect((await post("/xend/domain/web1", [["op", "dump"], ["file", "f"]])).status).toBe(501);
  });

  it("answers a registered op's result as SXP, and its errors as 500 or 404", async () => {
    h.ctx.legacyHttp!.registerDomainOp("migrate", {
      params: ["destination"],
      get: true,
      run: (d, args) => {
        if (args.destination === "gone") throw Object.assign(new Error("Domain 'web1' does not exist."), { code: "DOMAIN_NOT_FOUND" });
        if (args.destination === "bad") throw new Error("migration of web1 failed: refused");
        return ["migrated", d.name, args.destination!];
      },
    });
    expectSxp(await post("/xend/domain/web1", [["op", "migrate"], ["destination", "host2"]]), 200, "(migrated web1 host2)");
    expectSxp(await get("/xend/domain/web1?op=migrate&destination=host3"), 200, "(migrated web1 host3)");
    expectSxp(await post("/xend/domain/web1", [["op", "migrate"], ["destination", "bad"]]), 500, "(xend.err 'migration of web1 failed: refused')");
    expect((await post("/xend/domain/web1", [["op", "migrate"], ["destination", "gone"]])).status).toBe(404);
  });

  it("keeps the built-in ops when a plugin registers the same name", async () => {
    h.ctx.legacyHttp!.registerDomainOp("pause", { run: () => ["hijacked"] });
    expectEmpty(await post("/xend/domain/web1", [["op", "pause"]]), 200);
    expect(domains.mutations).toEqual(["pause 1"]);
  });
});

describe("HTTP behaviour", () => {
  it("answers HTML to a browser and SXP to anyone without User-Agent or Accept, or accepting SXP", async () => {
    const ask = (headers: string) => request(sock, `GET /xend/domain/ HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
    const html = await ask("User-Agent: Mozilla/5.0\r\nAccept: text/html,*/*\r\n");
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.body).toContain('<li><a href="/xend/domain/web1">Domain web1</a>: id = 1, memory = 512</li>');
    expect(html.body).toContain('enctype="multipart/form-data"');
    expect((await ask("User-Agent: Mozilla/5.0\r\n")).body).toBe("(Domain-0 web1 db1)");
    expect((await ask("Accept: text/html\r\n")).body).toBe("(Domain-0 web1 db1)");
    expect((await ask("User-Agent: curl\r\nAccept: text/html, application/sxp\r\n")).body).toBe("(Domain-0 web1 db1)");
    const page = await request(sock, "GET /xend/domain/web1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla\r\nAccept: text/html\r\n\r\n");
    expect(page.body).toContain("<p>Domain web1 (id 1, state -b----)</p>");
    expect(page.body).toContain('<input type="submit" name="op" value="pause">');
    const err = await request(sock, "POST /xend/domain/db1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Mozilla\r\nAccept: text/html\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\nop=pause");
    expect(err.status).toBe(500);
    expect(err.body).toContain("<p>Domain &#39;db1&#39; is paused; cannot pause.</p>");
  });

  it("closes after each answer unless the client asked for keep-alive (HTTP/1.0 and 1.1)", async () => {
    const one = parseResponse(await exchange(sock, "GET /xend/domain HTTP/1.0\r\n\r\n"));
    expect(one.status).toBe(200);
    expect(one.headers.get("connection")).toBe("close");
    expect(one.body).toBe("(Domain-0 web1 db1)");

    const req = (conn: string) => `GET /xend/domain HTTP/1.1\r\nHost: localhost:8000\r\nConnection: ${conn}\r\n\r\n`;
    const raw = await exchange(sock, req("keep-alive") + req("keep-alive") + req("close"));
    let rest: Buffer = raw;
    const connections: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = parseResponse(rest);
      expect(r.body).toBe("(Domain-0 web1 db1)");
      connections.push(r.headers.get("connection")!);
      rest = r.rest;
    }
    expect(connections).toEqual(["keep-alive", "keep-alive", "close"]);
    expect(rest.length).toBe(0);
  });

  it("answers HEAD like GET without a body, and 501 to other methods", async () => {
    const head = await exchange(sock, "HEAD /xend/domain HTTP/1.1\r\nHost: localhost\r\n\r\n");
    const text = head.toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).toMatch(/content-length: 19\r\n/i);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
    const put = await request(sock, "PUT /xend/domain/web1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
    expect(put.status).toBe(501);
    expect(put.body).toBe("Request method not supported (PUT)");
    expect(domains.mutations).toEqual([]);
  });

  it("refuses bodies over 10000 bytes with 413, by Content-Length or by counting, and closes", async () => {
    const pad = (n: number) => `op=pause&x=${"a".repeat(n - 11)}`;
    expect(pad(10000).length).toBe(10000);
    const ok = await request(sock, `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000\r\n\r\n${pad(10000)}`);
    expectEmpty(ok, 200);
    const big = await request(sock, `POST /xend/domain/web1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10001\r\n\r\n${pad(10001)}`);
    expect(big.status).toBe(413);
    expect(big.headers.get("connection")).toBe("close");
    const chunk = pad(10001);
    const chunked = await request(sock, `POST /xend/domain/db1 HTTP/1.1\r\nHost: l\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n` +
      `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`);
    expect(chunked.status).toBe(413);
    expect(chunked.headers.get("connection")).toBe("close");
    expect(domains.mutations).toEqual(["pause 1"]);
  });
});

describe("the same SXP module on both ends", () => {
  it("reads back every record the server writes", async () => {
    const list = parse((await get("/xend/domain?detail=1&state=all")).body) as unknown[];
    expect(list).toHaveLength(4);
    for (const record of list) expect(parse(show(record as never))).toEqual(record);
  });
});
