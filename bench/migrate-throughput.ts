/**
 * Live migration throughput, downtime and total time, each next to a baseline measured in the same
 * run (alternating, best of `--rounds`):
 *
 *   migrating an idle 1 GiB guest filled with random data (runner to runner, as xend has it done)
 *     vs  a plain socket copy of the same bytes between two processes of the same runtime (bun):
 *         "store" — the receiver puts them into a shared buffer as a guest's memory would be;
 *         "discard" — the receiver only counts them (the bare loopback ceiling)
 *   downtime (guest stopped at the source -> running at the destination)  vs  the 50 ms target
 *   a 2 GiB guest with 10 % of its pages touched  vs  the 1 GiB fully touched one (time ratio)
 *
 * Runners are the compiled binary's (`--bin`, default $XVM_BIN or dist/xvm), as under xend.
 * Usage: node --import tsx bench/migrate-throughput.ts [--mib 1024] [--rounds 3] [--bin dist/xvm]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GuestSpec, MigrationStats } from "../src/hypervisor/driver.ts";
import { createSimDriver, type SimDriver } from "../src/hypervisor/sim/driver.ts";
import { Paths } from "../src/paths.ts";
import { createCipheriv } from "node:crypto";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bin = resolve(opt("--bin", process.env.XVM_BIN ?? join(repo, "dist/xvm")));
const mib = Number(opt("--mib", "1024"));
const rounds = Number(opt("--rounds", "3"));
const bun = join(repo, "node_modules/.bin/bun");
const PAGE = 4096;
const bytes = mib * 2 ** 20;

const work = mkdtempSync(join(tmpdir(), "xvm-migrate-bench-"));

function row(label: string, value: number, unit: string, baseLabel: string, base: number): void {
  console.log(`${label.padEnd(40)} ${value.toFixed(1).padStart(9)} ${unit.padEnd(5)} | ${baseLabel.padEnd(32)} ${base.toFixed(1).padStart(9)} ${unit.padEnd(5)} | ratio ${(value / base).toFixed(2)}`);
}

/** The same bytes the baseline's sender sends: an AES-CTR keystream (random-looking, reproducible). */
function keystream(length: number): Uint8Array {
  const out = new Uint8Array(length);
  const c = createCipheriv("aes-256-ctr", Buffer.alloc(32, 7), Buffer.alloc(16, 0));
  const zero = Buffer.alloc(4 * 2 ** 20);
  for (let at = 0; at < length; at += zero.length) out.set(c.update(zero.subarray(0, Math.min(zero.length, length - at))), at);
  return out;
}

// ---- baseline: a plain socket copy between two bun processes --------------------------------

const CHILD = `
import { createServer, connect } from "node:net";
import { createCipheriv } from "node:crypto";
const [mode, a, b] = process.argv.slice(2);
const CHUNK = 4 * 2 ** 20;
if (mode === "sink") {
  const total = Number(a); const store = b === "store";
  const mem = store ? new Uint8Array(new SharedArrayBuffer(total)) : undefined;
  const server = createServer((s) => {
    let got = 0;
    s.on("data", (d) => {
      if (mem) mem.set(d, got);
      got += d.length;
      if (got >= total) { s.write(Buffer.from([1])); }
    });
    s.on("error", () => {});
  });
  server.listen(0, "127.0.0.1", () => console.log(server.address().port));
} else {
  const port = Number(a); const total = Number(b);
  const data = new Uint8Array(new SharedArrayBuffer(total));
  const c = createCipheriv("aes-256-ctr", Buffer.alloc(32, 7), Buffer.alloc(16, 0));
  const zero = Buffer.alloc(CHUNK);
  for (let at = 0; at < total; at += CHUNK) data.set(c.update(zero.subarray(0, Math.min(CHUNK, total - at))), at);
  const s = connect({ host: "127.0.0.1", port }, () => {
    const t0 = performance.now();
    let at = 0;
    const pump = () => {
      while (at < total) {
        const n = Math.min(CHUNK, total - at);
        const ok = s.write(Buffer.from(data.buffer, at, n));
        at += n;
        if (!ok) return void s.once("drain", pump);
      }
    };
    s.once("data", () => { console.log(String(performance.now() - t0)); s.destroy(); process.exit(0); });
    pump();
  });
}
`;
const childFile = join(work, "copy-child.mjs");
writeFileSync(childFile, CHILD);

function runChild(args: string[]): { out: Promise<string>; kill(): void } {
  const child = spawn(bun, [childFile, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let text = "";
  const out = new Promise<string>((res, rej) => {
    child.stdout!.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("\n")) res(text.trim());
    });
    child.on("exit", (code) => (code !== 0 && code !== null ? rej(new Error(`copy child exited ${code}`)) : undefined));
  });
  return { out, kill: () => child.kill("SIGKILL") };
}

/** MiB/s of a plain socket copy of `bytes` between two processes. */
async function socketCopy(store: boolean): Promise<number> {
  const sink = runChild(["sink", String(bytes), store ? "store" : "discard"]);
  const port = await sink.out;
  const source = runChild(["source", port, String(bytes)]);
  const ms = Number(await source.out);
  sink.kill();
  return bytes / 2 ** 20 / (ms / 1000);
}

// ---- migration ----------------------------------------------------------------------------

const drivers: SimDriver[] = [];
function driver(name: string): SimDriver {
  const d = createSimDriver({ paths: new Paths(join(work, name)), command: [bin] });
  drivers.push(d);
  return d;
}

function spec(domid: number, memMiB: number, paused: boolean): GuestSpec {
  return {
    domid, name: `bench${domid}`, uuid: `00000000-0000-4000-8000-${String(domid).padStart(12, "0")}`, memoryKiB: memMiB * 1024, maxMemKiB: memMiB * 1024,
    vcpus: 1, maxVcpus: 1, kernel: "sim:idle", extra: "", affinity: [], paused, meta: {},
  };
}

let nextDest = 100;

interface Run {
  mibPerS: number;
  totalMs: number;
  downtimeMs: number;
  stats: MigrationStats;
}

/** Live-migrates guest `domid` of `src` to a fresh paused guest on `dst`; resumes the source after. */
async function migrate(src: SimDriver, dst: SimDriver, domid: number, memMiB: number): Promise<Run> {
  const destId = nextDest++;
  await dst.create(spec(destId, memMiB, true));
  const t0 = performance.now();
  const incoming = await dst.prepareIncoming(destId, { bindAddress: "127.0.0.1", allowFrom: "127.0.0.1", timeoutMs: 60_000 });
  const t1 = performance.now();
  const stats = await src.migrateOut(domid, incoming.endpoint, { live: true, maxDowntimeMs: 300 });
  const t2 = performance.now();
  await incoming.verified;
  await incoming.commit(true);
  const running = performance.timeOrigin + performance.now();
  const t3 = performance.now();
  await src.finishMigrateOut(domid, false); // the source resumes: it is migrated again next round
  await dst.destroy(destId);
  return {
    mibPerS: stats.transferredBytes / 2 ** 20 / ((t2 - t1) / 1000),
    totalMs: t3 - t0,
    downtimeMs: running - stats.stoppedAtEpochMs!,
    stats,
  };
}

/** Writes page i of `pfns` with page (i mod its size) of `data`. */
async function fill(d: SimDriver, domid: number, pfns: number[], data: Uint8Array): Promise<void> {
  const slice = 4096;
  const pages = data.length / PAGE;
  for (let i = 0; i < pfns.length; i += slice) {
    const part = pfns.slice(i, i + slice);
    const at = (i % pages) * PAGE;
    await d.writePages(domid, part, data.subarray(at, at + part.length * PAGE));
  }
}

async function main(): Promise<void> {
  const a = driver("a");
  const b = driver("b");
  console.log(`guest ${mib} MiB random, ${rounds} round(s), runners from ${bin}`);
  const data = keystream(bytes);
  await a.create(spec(1, mib, false));
  await fill(a, 1, Array.from({ length: bytes / PAGE }, (_, i) => i), data);
  const sparseMiB = 2 * mib;
  await a.create(spec(2, sparseMiB, false));
  await fill(a, 2, Array.from({ length: (sparseMiB * 256) / 10 }, (_, i) => i * 10), data);

  const full: Run[] = [];
  const sparse: Run[] = [];
  const store: number[] = [];
  const discard: number[] = [];
  for (let r = 0; r < rounds; r++) {
    store.push(await socketCopy(true));
    full.push(await migrate(a, b, 1, mib));
    discard.push(await socketCopy(false));
    sparse.push(await migrate(a, b, 2, sparseMiB));
  }
  const best = <T>(xs: T[], key: (x: T) => number, max = true) => xs.reduce((p, x) => ((max ? key(x) > key(p) : key(x) < key(p)) ? x : p));
  const f = best(full, (x) => x.mibPerS);
  const sp = best(sparse, (x) => x.totalMs, false);
  const fastFull = best(full, (x) => x.totalMs, false);
  const dt = best(full, (x) => x.downtimeMs, false);
  const storeBest = Math.max(...store);
  const discardBest = Math.max(...discard);
  console.log("");
  row("migration throughput (1 GiB random)", f.mibPerS, "MiB/s", "socket copy, receiver stores", storeBest);
  row("migration throughput (1 GiB random)", f.mibPerS, "MiB/s", "socket copy, receiver discards", discardBest);
  row("downtime (stopped -> running there)", dt.downtimeMs, "ms", "target", 50);
  row("total time (prepare -> running there)", fastFull.totalMs, "ms", "1 GiB at socket-copy speed", (bytes / 2 ** 20 / storeBest) * 1000);
  row(`total time, ${sparseMiB} MiB guest 10 % touched`, sp.totalMs, "ms", "1 GiB fully touched", fastFull.totalMs);
  const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;
  console.log("");
  console.log(`median throughput ratio (migration / socket copy that stores): ${(median(full.map((x) => x.mibPerS)) / median(store)).toFixed(2)}`);
  // With free zero pages the sparse guest would take its data's share of the full guest's time.
  const dataShare = (sp.stats.normalPages * PAGE) / bytes;
  const zeroCostMs = sp.totalMs - dataShare * fastFull.totalMs;
  console.log(`sparse guest: data ${(dataShare * 100).toFixed(0)} % of the 1 GiB guest's; time beyond that share ${zeroCostMs.toFixed(0)} ms for ${sp.stats.zeroPages} zero pages (${((zeroCostMs * 1000) / sp.stats.zeroPages).toFixed(2)} µs each)`);
  console.log(`all runs: migration MiB/s ${full.map((x) => x.mibPerS.toFixed(0)).join(" ")}; store ${store.map((x) => x.toFixed(0)).join(" ")}; discard ${discard.map((x) => x.toFixed(0)).join(" ")}`);
  console.log(`downtimes ms: ${full.map((x) => x.downtimeMs.toFixed(1)).join(" ")} (sparse: ${sparse.map((x) => x.downtimeMs.toFixed(1)).join(" ")})`);
  console.log(`1 GiB run: ${f.stats.rounds} rounds, ${f.stats.normalPages} pages + ${f.stats.zeroPages} zero, ${(f.stats.transferredBytes / 2 ** 20).toFixed(1)} MiB sent, switch-over: ${f.stats.switchover}`);
  console.log(`sparse run: ${sp.stats.normalPages} pages + ${sp.stats.zeroPages} zero, ${(sp.stats.transferredBytes / 2 ** 20).toFixed(1)} MiB sent`);
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
