/**
 * Dump speed: writeXenCoreSync of a guest with random content (default 1 GiB), next to baselines
 * measured in the same run, in the same directory (same disk):
 *
 *   dd        dd if=/dev/zero of=… bs=1M count=<MiB> conv=fsync
 *   writeSync the same guest bytes written with fs.writeSync in 8 MiB chunks, then fsync
 *
 * Each is run `--rounds` times (default 2), alternating, and the best time of each counts. The
 * figure is the ratio of throughputs, dump / baseline (target >= 0.8 against dd).
 *
 * Usage: node --import tsx bench/dump-speed.ts [--mib 1024] [--dir DIR] [--rounds 2]
 */
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeXenCoreSync } from "../src/formats/elfcore.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const mib = Number(arg("mib", "1024"));
const rounds = Number(arg("rounds", "2"));
const dir = mkdtempSync(join(arg("dir", tmpdir()), "xvm-dump-bench-"));
const PAGE = 4096;
const bytes = mib * 2 ** 20;

const memory = new Uint8Array(new SharedArrayBuffer(bytes));
for (let off = 0; off < bytes; off += 64 * 2 ** 20) randomFillSync(memory, off, Math.min(64 * 2 ** 20, bytes - off));

const image = {
  domid: 1, name: "bench", uuid: "00000000-0000-0000-0000-000000000001", pageSize: PAGE, nrPages: bytes / PAGE, memory,
  vcpus: [{ number: 0, regs: { pc: "0" } }], xenVersion: { major: 3, minor: 4, extra: ".0-xvm" },
};

function timeIt(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

const runs = {
  dump: () => writeXenCoreSync(join(dir, "bench.core"), image),
  dd: () => {
    const r = spawnSync("dd", ["if=/dev/zero", `of=${join(dir, "dd.out")}`, "bs=1M", `count=${mib}`, "conv=fsync"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`);
  },
  writeSync: () => {
    const fd = openSync(join(dir, "plain.out"), "w");
    try {
      for (let off = 0; off < bytes; off += 8 * 2 ** 20) writeSync(fd, memory, off, Math.min(8 * 2 ** 20, bytes - off), off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

const best: Record<keyof typeof runs, number> = { dump: Infinity, dd: Infinity, writeSync: Infinity };
try {
  for (let r = 0; r < rounds; r++) {
    for (const name of ["dd", "dump", "writeSync"] as const) {
      const s = timeIt(runs[name]);
      best[name] = Math.min(best[name], s);
      rmSync(join(dir, name === "dump" ? "bench.core" : name === "dd" ? "dd.out" : "plain.out"), { force: true });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const mbps = (s: number) => (bytes / 2 ** 20 / s).toFixed(0);
console.log(`dump-speed: ${mib} MiB guest, random content, best of ${rounds}, directory ${arg("dir", tmpdir())}`);
console.log(`  writeXenCoreSync          ${best.dump.toFixed(2)} s  ${mbps(best.dump)} MiB/s`);
console.log(`  dd bs=1M conv=fsync       ${best.dd.toFixed(2)} s  ${mbps(best.dd)} MiB/s   (baseline)`);
console.log(`  writeSync 8 MiB + fsync   ${best.writeSync.toFixed(2)} s  ${mbps(best.writeSync)} MiB/s`);
console.log(`  ratio dump/dd             ${(best.dd / best.dump).toFixed(2)}  (target >= 0.8)`);
console.log(`  ratio dump/writeSync      ${(best.writeSync / best.dump).toFixed(2)}`);
