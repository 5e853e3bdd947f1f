/**
 * Runners (and their vCPU worker threads) start in each of the three ways the program runs, and a
 * guest outlives a kill -9 of the process (and process group) that created it.
 */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSimDriver } from "../../src/hypervisor/sim/driver.ts";
import { counterFromPage } from "../../src/hypervisor/sim/programs.ts";
import { Paths } from "../../src/paths.ts";
import { cleanupRoot, pidAlive, tempRoot, waitFor, xvmBin } from "../helpers/cli.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");

function counterSpec(domid: number) {
  return {
    domid,
    name: `mode${domid}`,
    uuid: `11111111-0000-4000-8000-${String(domid).padStart(12, "0")}`,
    memoryKiB: 16 * 1024,
    maxMemKiB: 16 * 1024,
    vcpus: 2,
    maxVcpus: 2,
    kernel: "sim:counter",
    extra: "",
    affinity: [],
    paused: false,
    meta: {},
  };
}

describe("runner start modes", () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const r of roots) await cleanupRoot(r);
  });

  const modes: [string, () => string[]][] = [
    ["compiled binary", () => [xvmBin()]],
    ["esbuild bundle on Node", () => ["node", join(dirname(xvmBin()), "xvm.mjs")]],
    ["sources on Node through tsx", () => ["node", "--import", "tsx", join(repo, "bin/xvm.ts")]],
  ];
  for (const [label, command] of modes) {
    it(`runs vCPU threads from the ${label}`, async () => {
      const cmd = command();
      if (cmd[1]?.endsWith("xvm.mjs")) expect(existsSync(cmd[1]), `${cmd[1]} (npm run build makes it)`).toBe(true);
      const root = tempRoot("xvm-simmode-");
      roots.push(root);
      const driver = createSimDriver({ paths: new Paths(root), command: cmd });
      try {
        const info = await driver.create(counterSpec(1));
        expect(info.vcpus.filter((v) => v.online).length).toBe(2);
        const read = async () => counterFromPage(await driver.readPages(1, [0]));
        await waitFor(async () => (await read()) > 3n, "the counter to advance");
        await driver.pause(1);
        expect((await driver.info(1)).paused).toBe(true);
        await driver.unpause(1);
        await driver.destroy(1);
        await waitFor(() => !pidAlive(info.pid!), "the runner to exit");
      } finally {
        await driver.close();
      }
    });
  }
});

describe("detached from its creator", () => {
  let root: string;
  let creatorPid = 0;

  beforeAll(() => {
    root = tempRoot("xvm-simdetach-");
  });
  afterAll(async () => {
    await cleanupRoot(root, creatorPid ? [creatorPid] : []);
  });

  it("a guest survives kill -9 of the daemon that started it (and of its process group)", async () => {
    // A stand-in for xend: a process in its own group that creates a guest and stays.
    const script = join(root, "creator.mts");
    writeFileSync(
      script,
      `import { Paths } from ${JSON.stringify(join(repo, "src/paths.ts"))};
import { createSimDriver } from ${JSON.stringify(join(repo, "src/hypervisor/sim/driver.ts"))};
const driver = createSimDriver({ paths: new Paths(${JSON.stringify(root)}), command: [${JSON.stringify(xvmBin())}] });
const info = await driver.create(${JSON.stringify(counterSpec(9))});
process.stdout.write(JSON.stringify({ pid: info.pid }) + "\\n");
setInterval(() => {}, 60_000);
`,
    );
    const creator = spawn("node", ["--import", "tsx", script], { cwd: repo, detached: true, stdio: ["ignore", "pipe", "inherit"] });
    creatorPid = creator.pid!;
    let out = "";
    creator.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
    const { pid } = JSON.parse(await waitFor(() => (out.includes("\n") ? out.split("\n")[0] : ""), "the creator to report the guest", 30_000)) as { pid: number };

    process.kill(-creatorPid, "SIGKILL");
    await waitFor(() => creator.exitCode !== null || creator.signalCode !== null, "the creator to die");
    expect(pidAlive(pid)).toBe(true);

    const driver = createSimDriver({ paths: new Paths(root), command: [xvmBin()] });
    try {
      const [guest] = await driver.list();
      expect(guest).toMatchObject({ domid: 9, name: "mode9", pid, crashed: false, paused: false });
      const c = counterFromPage(await driver.readPages(9, [0]));
      await waitFor(async () => counterFromPage(await driver.readPages(9, [0])) > c, "the counter after the creator died");
      await driver.destroy(9);
    } finally {
      await driver.close();
    }
  });
});
