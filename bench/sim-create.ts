/**
 * Simulated hypervisor figures, each next to a baseline measured in the same run:
 *
 *   create-to-running of a 256 MiB guest      vs  spawning a bare `bun -e 0` to exit (and `xvm --version`)
 *                                                 (`bun -e ''` prints bun's help instead of running
 *                                                 an empty program, so the baseline runs `0`)
 *   pause latency (request to vCPUs stopped)  vs  a no-op request on the same runner socket
 *   runner RSS minus guest memory             vs  the RSS of a bare idle `bun`
 *
 * Usage: node --import tsx bench/sim-create.ts [--bin dist/xvm] [--runs N]
 * (runners are started from the compiled binary, as xend starts them.)
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createSimDriver, type SimDriver } from "../src/hypervisor/sim/driver.ts";
import { Paths } from "../src/paths.ts";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : fallback);
const bin = resolve(opt("--bin", process.env.XVM_BIN ?? join(repo, "dist/xvm")));
const runs = Number(opt("--runs", "7"));
const bun = join(repo, "node_modules/.bin/bun");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function row(label: string, value: number, unit: string, baseLabel: string, base: number): void {
  console.log(`${label.padEnd(44)} ${value.toFixed(2).padStart(9)} ${unit.padEnd(4)} | ${baseLabel.padEnd(34)} ${base.toFixed(2).padStart(9)} ${unit.padEnd(4)} | ratio ${(value / base).toFixed(2)}`);
}

async function spawnMs(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((ok, fail) => {
    const c = spawn(cmd, args, { stdio: "ignore" });
    c.on("error", fail);
    c.on("exit", () => ok());
  });
  return performance.now() - t0;
}

function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

function bareBunRss(): number {
  const r = spawnSync(bun, ["-e", `console.log(/VmRSS:\\s+(\\d+)/.exec(require("fs").readFileSync("/proc/self/status","utf8"))[1])`], { encoding: "utf8" });
  return Number(r.stdout.trim()) * 1024;
}

function spec(domid: number, vcpus: number) {
  return {
    domid,
    name: `bench${domid}`,
    uuid: `22222222-0000-4000-8000-${String(domid).padStart(12, "0")}`,
    memoryKiB: 256 * 1024,
    maxMemKiB: 256 * 1024,
    vcpus,
    maxVcpus: vcpus,
    kernel: "sim:counter",
    extra: "",
    affinity: [],
    paused: false,
    meta: {},
  };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "xvm-bench-sim-"));
  const driver: SimDriver = createSimDriver({ paths: new Paths(root), command: [bin] });
  let domid = 1;
  try {
    console.log(`sim bench: runner = ${bin}, ${runs} runs each, medians`);
    await spawnMs(bun, ["-e", "0"]);
    const bunMs: number[] = [];
    const xvmMs: number[] = [];
    const create1: number[] = [];
    const create4: number[] = [];
    for (let i = 0; i < runs; i++) {
      bunMs.push(await spawnMs(bun, ["-e", "0"]));
      xvmMs.push(await spawnMs(bin, ["--version"]));
      for (const [vcpus, into] of [[1, create1], [4, create4]] as const) {
        const id = domid++;
        const t0 = performance.now();
        await driver.create(spec(id, vcpus));
        into.push(performance.now() - t0);
        await driver.destroy(id);
      }
    }
    const bunBase = median(bunMs);
    row("create-to-running, 256 MiB, 1 vCPU", median(create1), "ms", "bare `bun -e 0` spawn to exit", bunBase);
    row("create-to-running, 256 MiB, 4 vCPUs", median(create4), "ms", "bare `bun -e 0` spawn to exit", bunBase);
    // The same binary doing nothing: how much of create is just starting the executable.
    row("create-to-running, 256 MiB, 1 vCPU", median(create1), "ms", "`xvm --version` spawn to exit", median(xvmMs));

    const id = domid++;
    await driver.create(spec(id, 4));
    const stopped: number[] = [];
    const pauseRtt: number[] = [];
    const noop: number[] = [];
    for (let i = 0; i < runs * 3; i++) {
      let t0 = performance.now();
      await driver.info(id);
      noop.push(performance.now() - t0);
      t0 = performance.now();
      const r = await driver.pauseTimed(id);
      pauseRtt.push(performance.now() - t0);
      stopped.push(r.stoppedMs);
      await driver.unpause(id);
    }
    row("pause: request to 4 vCPUs stopped (runner)", median(stopped), "ms", "no-op request round trip", median(noop));
    row("pause: driver round trip", median(pauseRtt), "ms", "no-op request round trip", median(noop));

    const info = await driver.info(id);
    const stats = await driver.stats(id);
    const rss = vmRssBytes(info.pid!);
    const overhead = rss - stats.populatedBytes;
    const bunRss = bareBunRss();
    row("runner RSS - guest memory, 4 vCPUs", overhead / 2 ** 20, "MiB", "bare idle bun RSS", bunRss / 2 ** 20);
    const id1 = domid++;
    const info1 = await driver.create(spec(id1, 1));
    const stats1 = await driver.stats(id1);
    row("runner RSS - guest memory, 1 vCPU", (vmRssBytes(info1.pid!) - stats1.populatedBytes) / 2 ** 20, "MiB", "bare idle bun RSS", bunRss / 2 ** 20);
    await driver.destroy(id1);
    await driver.destroy(id);
  } finally {
    for (const g of await driver.list()) await driver.destroy(g.domid).catch(() => {});
    await driver.close();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
