/**
 * Fuzz-style robustness of the legacy interface: well over 1,000 malformed requests (bad request
 * lines, bad percent-encoding, huge headers, bad lengths, truncated bodies, disconnects mid-request,
 * byte-flipped requests, bad forms and configs), generated from a fixed seed. Afterwards the server
 * still answers, and no domain changed: the manager double saw no state-changing call at all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpus, send, type Outcome } from "../helpers/legacy-fuzz.ts";
import { startLegacyServer, stopLegacyServer, type LegacyServer } from "../helpers/legacy-server.ts";
import { libvirtGet, libvirtPost } from "../helpers/raw-http.ts";

let server: LegacyServer | undefined;
let domains: LegacyServer["domains"];
let h: LegacyServer["h"];
let sock: string;

beforeAll(async () => {
  server = await startLegacyServer("xvm-us-fuzz-");
  ({ domains, h, sock } = server);
});

afterAll(async () => {
  await stopLegacyServer(server);
});

describe("malformed requests", () => {
  it("survives over 1,000 of them with every domain unchanged", async () => {
    const cases = corpus();
    expect(cases.length).toBeGreaterThanOrEqual(1000);
    const before = domains.snapshot();
    const outcomes: Outcome[] = [];
    for (let i = 0; i < cases.length; i += 16) {
      outcomes.push(...(await Promise.all(cases.slice(i, i + 16).map((c) => send(sock, c)))));
    }

    expect(domains.mutations).toEqual([]);
    expect(domains.snapshot()).toBe(before);

    // Fixed outcomes where the request's meaning is clear.
    cases.forEach((c, i) => {
      if (c.status !== undefined) expect({ kind: c.kind, status: outcomes[i]!.status }).toEqual({ kind: c.kind, status: c.status });
    });
    const statuses = (kind: string) => new Set(outcomes.filter((o) => o.kind === kind).map((o) => o.status ?? (o.closedWithoutAnswer ? "closed" : "dropped")));
    for (const s of statuses("bad-form")) expect([404, 406, 500, 501]).toContain(s);
    for (const s of statuses("bad-form-node")) expect([200, 406, 501]).toContain(s);
    for (const s of statuses("request-line")) expect(s === "closed" || (typeof s === "number" && (s === 200 || s >= 400))).toBe(true);
    for (const s of statuses("huge-header")) expect(s === "closed" || s === 431 || s === 400).toBe(true);
    for (const s of statuses("bad-multipart")) expect([400, 406]).toContain(s);

    // The server still answers, and still acts on a proper request.
    expect((await libvirtGet(sock, "/xend/domain")).body).toBe("(Domain-0 web1 db1)");
    expect((await libvirtPost(sock, "/xend/domain/web1", [["op", "pause"]])).status).toBe(200);
    expect(domains.mutations).toEqual(["pause 1"]);
    expect(h.log.lines.filter((l) => l.startsWith("ERROR"))).toEqual([]);
  });
});
