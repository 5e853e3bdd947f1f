/**
 * Migrations that fail part-way, end to end: the destination daemon killed mid-stream, the link
 * closed in the middle of a batch, a corrupted batch (with the guest stopped, and during a live
 * round). Each time the guest goes on here under its own name with its memory as it was, and the
 * destination keeps nothing of it: no domain, no runner folder, no runner process, even after its
 * daemon is started again. Faults inside the stream are injected by the source runner
 * (armed through test/helpers/migration-faults.ts, honoured only under a daemon started with
 * XVM_TEST_FAULTS=1).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, killPids, run } from "../helpers/cli.ts";
import { withMigrationFault } from "../helpers/migration-faults.ts";
import {
  background, createGuest, digest, domains, expectNoGuests, lastHeartbeat, ok, progressAtLeast, restartHost, runnerPids, startHost, waitFor,
  type Digest, type Host,
} from "../helpers/relocation.ts";

let a: Host;
let b: Host;

beforeAll(async () => {
  [a, b] = await Promise.all([startHost("fa"), startHost("fb")]);
  // A guest with 24 MiB of data, paused so its memory stays as it is.
  createGuest(a, "data", 'kernel = "sim:memwriter"\nextra = "rate=max wss=24M"\nmemory = 48');
  createGuest(a, "beat", 'kernel = "sim:counter"\nmemory = 32');
  await waitFor(async () => (await lastHeartbeat(a, "beat")) >= 100, "the counter's first heartbeat");
  ok(a.x("xm", "pause", "data"));
});

afterAll(async () => {
  for (const h of [a, b]) if (h) await cleanupRoot(h.root, [h.xend.pid]);
});

async function expectIntact(name: string, before: Digest): Promise<void> {
  expect(domains(a).get(name)!.state).toBe("--p---");
  expect(await digest(a, name)).toEqual(before);
}

/** The counter guest runs here, under its own name, and its counter goes on from where it was. */
async function expectRunsOn(before: number): Promise<void> {
  expect(domains(a).get("beat")!.state).toMatch(/^[r-][b-]----$/);
  await waitFor(async () => (await lastHeartbeat(a, "beat")) > before, "the counter to carry on");
}

function expectDestinationEmpty(): void {
  expectNoGuests(b);
  expect(runnerPids(b.root)).toEqual([]);
}

describe("a migration that fails part-way", () => {
  it("survives the destination daemon killed in the middle of the stream", async () => {
    const before = await digest(a, "data");
    const m = background(a.root, ["xm", "migrate", "--live", "-r", "40", "-p", String(b.port), "data", "127.0.0.1"]);
    await progressAtLeast(m, 10);
    expect(domains(a).has("migrating-data")).toBe(true);
    await killPids([b.xend.pid]);
    const r = await m.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: migration of data failed: (the destination went away|the destination closed the migration stream)/);
    await expectIntact("data", before);
    // The half-received guest's runner saw its daemon go and removed itself.
    await waitFor(() => runnerPids(b.root).length === 0, "the destination's runner to go");
    await restartHost(b);
    expectDestinationEmpty();
    ok(a.x("xm", "unpause", "data"));
    await waitFor(async () => (await digest(a, "data")).sha256 !== before.sha256, "the guest to run on");
    ok(a.x("xm", "pause", "data"));
  });

  it("survives the source daemon killed in the middle of the stream: its guest keeps its name", async () => {
    const before = await digest(a, "data");
    const m = background(a.root, ["xm", "migrate", "--live", "-r", "40", "-p", String(b.port), "data", "127.0.0.1"]);
    await progressAtLeast(m, 10);
    await killPids([a.xend.pid]);
    expect((await m.done).code).toBe(1);
    // The destination sees the stream and the relocation channel close, and drops what it got.
    await waitFor(() => domains(b).size === 1 && runnerPids(b.root).length === 0, "the destination to drop the half-received guest");
    expectDestinationEmpty();
    await restartHost(a);
    await expectIntact("data", before);
    expect(domains(a).has("migrating-data")).toBe(false);
    expect(domains(a).get("beat")!.state).toMatch(/^[r-][b-]----$/);
  });

  it("survives the link closed in the middle of a batch (live, guest running)", async () => {
    const beat = await lastHeartbeat(a, "beat");
    const r = withFault("close-mid-batch:1", "beat", "xm", "migrate", "-l", "-p", String(b.port), "beat", "127.0.0.1");
    expect(r).toMatchObject({ code: 1, stderr: "Error: migration of beat failed: test fault: the link was closed in the middle of batch 1\n" });
    await expectRunsOn(beat);
    expectDestinationEmpty();
  });

  it("survives a corrupted batch sent with the guest stopped (not live)", async () => {
    const beat = await lastHeartbeat(a, "beat");
    const r = withFault("corrupt-batch:1", "beat", "xm", "migrate", "-p", String(b.port), "beat", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: migration of beat failed: .*page 0 failed its checksum \(crc [0-9a-f]{8}, expected [0-9a-f]{8}\) in a batch sent with the guest stopped\n$/);
    await expectRunsOn(beat);
    expectDestinationEmpty();
  });

  it("survives a corrupted batch of a live round that is never sent again: refused at the end", async () => {
    const before = await digest(a, "data");
    const r = withFault("corrupt-batch:3", "data", "xm", "migrate", "--live", "-p", String(b.port), "data", "127.0.0.1");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: migration of data failed: .*1 page\(s\) failed their checksum and were not sent again \(first: page 3071\)\n$/);
    await expectIntact("data", before);
    expectDestinationEmpty();
    const recs = await b.api<{ migrations: { direction: string; status: string; error: string }[] }>("GET", "/plugins/relocation/migrations");
    expect(recs.migrations.at(-1)).toMatchObject({ direction: "in", status: "failed" });
  });

  it("then migrates fine once nothing gets in the way", async () => {
    const before = await digest(a, "data");
    const r = a.x("xm", "migrate", "--live", "-p", String(b.port), "data", "127.0.0.1");
    expect(r.code, r.stderr).toBe(0);
    expect(await digest(b, "data")).toEqual(before);
  });

  it("refuses to run a guest stopped for its migration, on either side, until the migration ends", async () => {
    const before = await digest(b, "data");
    const m = background(b.root, ["xm", "migrate", "-r", "40", "-p", String(a.port), "data", "127.0.0.1"]);
    await progressAtLeast(m, 10);
    expect(b.x("xm", "unpause", "migrating-data")).toMatchObject({ code: 1, stderr: "Error: Domain 'migrating-data' is stopped for its migration; cannot unpause.\n" });
    expect(a.x("xm", "unpause", "data")).toMatchObject({ code: 1, stderr: "Error: Domain 'data' is receiving a migration; cannot unpause.\n" });
    const r = await m.done;
    expect(r.code, r.stderr).toBe(0);
    await expectIntact("data", before);
  });
});

/** Runs `args` on host a with `fault` armed for the next outgoing stream of its guest `name`. */
function withFault(fault: string, name: string, ...args: string[]) {
  return withMigrationFault(a.root, domains(a).get(name)!.id, fault, () => run(args, { root: a.root }));
}
