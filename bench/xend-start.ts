/**
 * xend start-up and idle footprint, next to baselines measured in the same run:
 *
 *   start   spawning `xvm xend` until `GET /status` answers on the control socket, next to a bare
 *           `bun` that serves one route on a Unix socket (the same runtime doing the least a
 *           daemon can), spawned until it answers
 *   RSS     of the idle daemon (all built-in plugins running, no guest) after start, next to that
 *           bare bun server
 *
 * Each is run `--rounds` times (default 5), alternating; the median counts. The relocation server
 * is switched off so the bench needs no free TCP port.
 *
 * Usage: node --import tsx bench/xend-start.ts [--bin dist/xvm] [--rounds 5]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { unixJson } from "../src/runtime/http-client.ts";
import { socketAnswers } from "../src/runtime/serve.ts";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const bin = resolve(arg("bin", "dist/xvm"));
const bun = resolve("node_modules/.bin/bun");
const rounds = Number(arg("rounds", "5"));
const work = mkdtempSync(join(tmpdir(), "xvm-start-bench-"));

function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

async function until(check: () => Promise<unknown>, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with ${child.exitCode}`);
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

async function xendRound(i: number): Promise<{ ms: number; rss: number }> {
  const root = join(work, `xend-${i}`);
  const env = { ...process.env, XVM_ROOT: root };
  for (const args of [["svccfg", "-s", "xend", "setprop", "config/xend-relocation-server", "=", "false"], ["svccfg", "-s", "xend:default", "refresh"]]) {
    const r = spawnSync(bin, args, { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  }
  const socket = join(root, "var/run/xend/control.sock");
  const t0 = performance.now();
  const child = spawn(bin, ["xend"], { env, stdio: "ignore" });
  await until(async () => (await socketAnswers(socket, 200)) && (await unixJson(socket, "GET", "/status")), child);
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500)); // let start-up garbage settle before reading RSS
  const rss = rssKiB(child.pid!);
  await stop(child);
  return { ms, rss };
}

async function bunRound(i: number): Promise<{ ms: number; rss: number }> {
  const socket = join(work, `bun-${i}.sock`);
  const script = join(work, "bare.ts");
  writeFileSync(script, `Bun.serve({ unix: ${JSON.stringify(socket)}, fetch: () => Response.json({ ok: true }) });\n`);
  const t0 = performance.now();
  const child = spawn(bun, [script], { stdio: "ignore" });
  await until(async () => (await socketAnswers(socket, 200)) && (await unixJson(socket, "GET", "/")), child);
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500));
  const rss = rssKiB(child.pid!);
  await stop(child);
  rmSync(socket, { force: true });
  return { ms, rss };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const xend: Array<{ ms: number; rss: number }> = [];
  const bare: Array<{ ms: number; rss: number }> = [];
  for (let i = 0; i < rounds; i++) {
    xend.push(await xendRound(i));
    bare.push(await bunRound(i));
  }
  const xs = median(xend.map((r) => r.ms));
  const bs = median(bare.map((r) => r.ms));
  const xr = median(xend.map((r) => r.rss));
  const br = median(bare.map((r) => r.rss));
  console.log(`xend start to GET /status:  ${xs.toFixed(0)} ms   bare bun Unix-socket server: ${bs.toFixed(0)} ms   ratio ${(xs / bs).toFixed(2)}`);
  console.log(`idle RSS:                   ${(xr / 1024).toFixed(1)} MiB   bare bun Unix-socket server: ${(br / 1024).toFixed(1)} MiB   ratio ${(xr / br).toFixed(2)}`);
  console.log(`(median of ${rounds} rounds each; ${bin})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
