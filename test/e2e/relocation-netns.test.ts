/**
 * Two hosts with addresses of their own: two network namespaces made by the test, joined by a veth
 * pair (10.213.77.1 and 10.213.77.2, nothing routed out), each running its own xend under its
 * restarter on the default relocation port, listening on all addresses and allowing only the
 * other's subnet. A counter guest migrates there and back. Needs root and iproute2; skipped with a
 * message otherwise; the namespaces are always deleted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { unixJson } from "../../src/runtime/http-client.ts";
import { cleanupRoot, tempRoot, waitFor } from "../helpers/cli.ts";
import { addNamespaces, deleteNamespaces, ip } from "../helpers/netns.ts";
import { guestConfig, inNamespace, ok, svcState, xendLog, type Xvm } from "../helpers/host.ts";
import { writeRelocationKey } from "../helpers/relocation-key.ts";
import { setProps } from "../helpers/relocation.ts";

const NS_A = `xvm-reloc-a-${process.pid}`;
const NS_B = `xvm-reloc-b-${process.pid}`;
const IP_A = "10.213.77.1";
const IP_B = "10.213.77.2";

const why = addNamespaces(NS_A, NS_B);
if (why) console.warn(`relocation-netns: skipped: ${why}`);

/** The last `heartbeat N` a counter guest printed (its console, over the control socket: no network). */
async function lastHeartbeat(x: Xvm, dom: string): Promise<number> {
  const { text } = await unixJson<{ text: string }>(`${x.root}/var/run/xend/control.sock`, "GET", `/domains/${dom}/console`);
  const all = [...text.matchAll(/heartbeat (\d+)/g)];
  return all.length ? Number(all.at(-1)![1]) : -1;
}

describe.skipIf(why !== undefined)("migration between two network namespaces", () => {
  let a: Xvm;
  let b: Xvm;

  beforeAll(() => {
    const must = (r: { ok: boolean; err: string }, what: string) => {
      if (!r.ok) throw new Error(`${what}: ${r.err}`);
    };
    must(ip("link", "add", "xra0", "netns", NS_A, "type", "veth", "peer", "name", "xrb0", "netns", NS_B), "veth pair");
    must(ip("-n", NS_A, "addr", "add", `${IP_A}/24`, "dev", "xra0"), "address A");
    must(ip("-n", NS_B, "addr", "add", `${IP_B}/24`, "dev", "xrb0"), "address B");
    for (const [ns, dev] of [[NS_A, "xra0"], [NS_B, "xrb0"]] as const) {
      must(ip("-n", ns, "link", "set", "lo", "up"), `lo up in ${ns}`);
      must(ip("-n", ns, "link", "set", dev, "up"), `${dev} up`);
    }
    a = inNamespace(NS_A, tempRoot("xvm-reloc-nsa-"));
    b = inNamespace(NS_B, tempRoot("xvm-reloc-nsb-"));
    for (const x of [a, b]) {
      writeRelocationKey(x.root); // the two hosts share one key, as copied by an administrator
      setProps(x.root, { "xend-relocation-address": '""', "xend-relocation-hosts-allow": '"^10\\\\.213\\\\.77\\\\."' });
      ok(x("svcadm", "enable", "-s", "xend"));
      expect(svcState(x)).toBe("online");
    }
  });

  afterAll(async () => {
    try {
      for (const x of [a, b]) if (x) await cleanupRoot(x.root);
    } finally {
      deleteNamespaces(NS_A, NS_B);
    }
  });

  it("migrates a counter guest live from 10.213.77.1 to 10.213.77.2 and back", async () => {
    ok(a("xm", "create", guestConfig(a.root, "web1", 'memory = 32\nkernel = "sim:counter"')));
    await waitFor(() => xendLog(a.root).includes("relocation server listening on *:8002") && xendLog(b.root).includes("relocation server listening on *:8002"), "both listeners");

    await waitFor(async () => (await lastHeartbeat(a, "web1")) >= 100, "a heartbeat on A");
    const first = await lastHeartbeat(a, "web1");
    const there = a("xm", "migrate", "--live", "web1", IP_B);
    expect(there.code, there.stderr).toBe(0);
    expect(there.stdout).toContain(`Migration of web1 to ${IP_B}:8002 completed (live)`);
    expect(ok(b("xm", "list"))).toMatch(/\nweb1 +\d+ +32 +1 +[r-][b-]----/);
    expect(ok(a("xm", "list"))).not.toContain("web1");
    expect(xendLog(b.root)).toContain(`Receiving domain web1 from ${IP_A} (`);

    await waitFor(async () => (await lastHeartbeat(b, "web1")) > first, "the counter carrying on at B");
    const second = await lastHeartbeat(b, "web1");
    const back = b("xm", "migrate", "-l", "web1", IP_A);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`Migration of web1 to ${IP_A}:8002 completed (live)`);
    expect(ok(a("xm", "list"))).toMatch(/\nweb1 +\d+ +32 +1 +[r-][b-]----/);
    expect(ok(b("xm", "list"))).not.toContain("web1");
    await waitFor(async () => (await lastHeartbeat(a, "web1")) > second, "the counter carrying on back at A");
  });
});
