/**
 * Live migration of a guest that keeps dirtying memory (sim:memwriter over a 512 MiB working set)
 * at 25 %, 50 % and 150 % of the bandwidth measured in the same run, next to the same guest idle:
 * does pre-copy converge (the dirty pages left fit in the 300 ms downtime target) or end on the
 * iteration limit, the downtime, the rounds, and the auto-converge throttle reached; and the 150 %
 * writer once more with auto-converge off, where xend's limits (29 rounds, 3× memory) end it.
 *
 * Runners are the compiled binary's (`--bin`, default $XVM_BIN or dist/xvm), as under xend.
 * Usage: node --import tsx bench/migrate-convergence.ts [--wss 512] [--bin dist/xvm]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GuestSpec, MigrationStats } from "../src/hypervisor/driver.ts";
import { createSimDriver, type SimDriver } from "../src/hypervisor/sim/driver.ts";
import { Paths } from "../src/paths.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bin = resolve(opt("--bin", process.env.XVM_BIN ?? join(repo, "dist/xvm")));
const wssMiB = Number(opt("--wss", "512"));
const memMiB = 2 * wssMiB;
const work = mkdtempSync(join(tmpdir(), "xvm-converge-bench-"));
const drivers: SimDriver[] = [];

function driver(name: string): SimDriver {
  const d = createSimDriver({ paths: new Paths(join(work, name)), command: [bin] });
  drivers.push(d);
  return d;
}

let nextId = 1;
function spec(kernel: string, extra: string, paused: boolean): GuestSpec {
  const domid = nextId++;
  return {
    domid, name: `conv${domid}`, uuid: `00000000-0000-4000-8000-${String(domid).padStart(12, "0")}`, memoryKiB: memMiB * 1024, maxMemKiB: memMiB * 1024,
    vcpus: 1, maxVcpus: 1, kernel, extra, affinity: [], paused, meta: {},
  };
}

interface Result {
  stats: MigrationStats;
  downtimeMs: number;
  totalMs: number;
  mibPerS: number;
}

async function migrate(src: SimDriver, dst: SimDriver, kernel: string, extra: string, warm: (domid: number) => Promise<void>, autoConverge = true): Promise<Result> {
  const s = spec(kernel, extra, false);
  await src.create(s);
  await warm(s.domid);
  const d = spec(kernel, extra, true);
  await dst.create(d);
  const t0 = performance.now();
  const incoming = await dst.prepareIncoming(d.domid, { bindAddress: "127.0.0.1", timeoutMs: 60_000 });
  const stats = await src.migrateOut(s.domid, incoming.endpoint, { live: true, maxDowntimeMs: 300, autoConverge });
  await incoming.verified;
  await incoming.commit(true);
  const running = performance.timeOrigin + performance.now();
  const totalMs = performance.now() - t0;
  await src.finishMigrateOut(s.domid, true);
  await src.destroy(s.domid);
  await dst.destroy(d.domid);
  return { stats, downtimeMs: running - stats.stoppedAtEpochMs!, totalMs, mibPerS: stats.transferredBytes / 2 ** 20 / (totalMs / 1000) };
}

/** Lets a writer fill its working set once (about the time it takes at its rate, at most 3 s). */
function settle(ms: number): (domid: number) => Promise<void> {
  return () => new Promise((r) => setTimeout(r, ms));
}

function converged(s: MigrationStats): string {
  return s.switchover && /fit in|fewer than/.test(s.switchover) ? "yes" : "no";
}

async function main(): Promise<void> {
  const a = driver("a");
  const b = driver("b");
  // The bandwidth: the same working set written once (rate=max for a moment), then kept still.
  const idle = await migrate(a, b, "sim:memwriter", `rate=1K wss=${wssMiB}M`, async (domid) => {
    const slice = new Uint8Array(4096 * 4096);
    for (let at = 0; at < slice.length; at += 65536) crypto.getRandomValues(slice.subarray(at, at + 65536));
    for (let first = 1; first <= wssMiB * 256; first += 4096) {
      await a.writePages(domid, Array.from({ length: Math.min(4096, wssMiB * 256 + 1 - first) }, (_, i) => first + i), slice.subarray(0, Math.min(4096, wssMiB * 256 + 1 - first) * 4096));
    }
  });
  const bandwidth = idle.mibPerS;
  console.log(`working set ${wssMiB} MiB in a ${memMiB} MiB guest; bandwidth measured on the idle guest: ${bandwidth.toFixed(0)} MiB/s; runners from ${bin}`);
  console.log("");
  console.log(`${"dirty rate".padEnd(22)} ${"converged".padEnd(10)} ${"downtime".padStart(10)} ${"rounds".padStart(7)} ${"throttle".padStart(9)} ${"total".padStart(9)} ${"sent".padStart(10)}  switch-over`);
  const line = (label: string, r: Result) =>
    console.log(`${label.padEnd(22)} ${converged(r.stats).padEnd(10)} ${`${r.downtimeMs.toFixed(1)} ms`.padStart(10)} ${String(r.stats.rounds).padStart(7)} ${`${r.stats.throttlePercent}%`.padStart(9)} ${`${r.totalMs.toFixed(0)} ms`.padStart(9)} ${`${(r.stats.transferredBytes / 2 ** 20).toFixed(0)} MiB`.padStart(10)}  ${r.stats.switchover}`);
  line("idle (baseline)", idle);
  for (const share of [0.25, 0.5, 1.5]) {
    const rate = Math.round(share * bandwidth);
    const r = await migrate(a, b, "sim:memwriter", `rate=${rate}M wss=${wssMiB}M`, settle(Math.min(3000, (wssMiB / rate) * 1000 + 200)));
    line(`${share * 100}% (${rate} MiB/s)`, r);
  }
  // The same writer without auto-converge: pre-copy ends on xend's limits instead.
  const rate = Math.round(1.5 * bandwidth);
  const off = await migrate(a, b, "sim:memwriter", `rate=${rate}M wss=${wssMiB}M`, settle(Math.min(3000, (wssMiB / rate) * 1000 + 200)), false);
  line("150%, no auto-converge", off);
  // As fast as a vCPU can write (far above the link): auto-converge, then xend's limits alone.
  for (const auto of [true, false]) {
    const r = await migrate(a, b, "sim:memwriter", `rate=max wss=${wssMiB}M`, settle(1500), auto);
    line(`max${auto ? "" : ", no auto-conv."}`, r);
  }
}

try {
  await main();
} finally {
  for (const d of drivers) {
    for (const g of await d.list().catch(() => [])) await d.destroy(g.domid).catch(() => {});
    await d.close();
  }
  rmSync(work, { recursive: true, force: true });
}
