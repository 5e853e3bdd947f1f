import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { XvmError } from "../../src/errors.ts";
import { Paths } from "../../src/paths.ts";
import { XEND_INSTANCE, XEND_SERVICE, setProp } from "../../src/smf/model.ts";
import { Repository, runningConfig } from "../../src/smf/repository.ts";
import { decode, encode } from "../../src/smf/store.ts";
import { snapshotRunning } from "../../src/smf/refresh.ts";
import { killPids, waitFor } from "../helpers/cli.ts";

const repoRoot = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");

let root: string;
let repo: Repository;
const started: number[] = [];

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "xvm-repo-test-"));
  repo = new Repository(new Paths(root));
});

afterEach(async () => {
  await killPids(started.splice(0));
  rmSync(root, { recursive: true, force: true });
});

function setCpus(n: number): void {
  repo.update((d) => setProp(d.services[XEND_SERVICE]!.pgs, "config", "dom0-cpus", "integer", [String(n)]));
}

describe("the repository file", () => {
  it("is created on first read with the manifest's defaults, a checksum header and generation 0", () => {
    const data = repo.read();
    const text = readFileSync(repo.paths.repository, "utf8");
    expect(text).toMatch(/^xvm-repository 1 sha256:[0-9a-f]{64}\n\{/);
    expect(decode(text)).toEqual(data);
    expect(data.generation).toBe(0);
    const cfg = data.services[XEND_SERVICE]!.pgs.config!.props;
    expect(cfg["dom0-cpus"]).toEqual({ type: "integer", values: ["0"] });
    expect(cfg["dom0-min-mem"]).toEqual({ type: "integer", values: ["196"] });
    expect(cfg["enable-dump"]).toEqual({ type: "boolean", values: ["true"] });
    expect(cfg["default-nic"]).toEqual({ type: "astring", values: [""] });
    expect(cfg["xend-relocation-address"]).toEqual({ type: "astring", values: ["127.0.0.1"] });
    expect(cfg["xend-relocation-hosts-allow"]).toEqual({ type: "astring", values: ["^localhost$"] });
    expect(cfg["xend-relocation-server"]).toEqual({ type: "boolean", values: ["true"] });
    expect(cfg["xend-unix-server"]).toEqual({ type: "boolean", values: ["true"] });
    expect(cfg["xend-relocation-port"]).toEqual({ type: "integer", values: ["8002"] });
    // The instance's own config group starts empty; its running snapshot holds the composed values.
    expect(data.services[XEND_SERVICE]!.instances[XEND_INSTANCE]!.pgs.config!.props).toEqual({});
    expect(runningConfig(data)["dom0-min-mem"]).toBe(196);
  });

  it("bumps the generation per committed change and keeps the last three good copies", () => {
    repo.read();
    for (let n = 1; n <= 4; n++) setCpus(n);
    const path = repo.paths.repository;
    expect(repo.read().generation).toBe(4);
    const gens = [1, 2, 3].map((i) => decode(readFileSync(`${path}.${i}`, "utf8")).generation);
    expect(gens).toEqual([3, 2, 1]);
    expect(existsSync(`${path}.4`)).toBe(false);
    // No temporary files are left behind.
    expect(readdirSync(join(root, "etc/svc")).filter((f) => f.includes(".tmp."))).toEqual([]);
  });

  it("writes nothing when a change throws or changes nothing", () => {
    repo.read();
    const before = readFileSync(repo.paths.repository);
    expect(() => repo.update((d) => {
      setProp(d.services[XEND_SERVICE]!.pgs, "config", "dom0-cpus", "integer", ["9"]);
      throw new Error("bad input");
    })).toThrow("bad input");
    expect(repo.update(() => undefined).changed).toBe(false);
    expect(readFileSync(repo.paths.repository)).toEqual(before);
    expect(existsSync(`${repo.paths.repository}.1`)).toBe(false);
    expect(existsSync(repo.paths.repositoryLock)).toBe(false);
  });

  it("refresh copies the composed editing values into the running snapshot", () => {
    setCpus(3);
    expect(runningConfig(repo.read())["dom0-cpus"]).toBe(0);
    expect(snapshotRunning(repo, XEND_SERVICE, XEND_INSTANCE)).toBe(true);
    expect(runningConfig(repo.read())["dom0-cpus"]).toBe(3);
    expect(snapshotRunning(repo, XEND_SERVICE, "nope")).toBe(false);
  });
});

describe("a damaged repository", () => {
  function expectCorrupt(fn: () => unknown): XvmError {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(XvmError);
      expect((error as XvmError).code).toBe("REPO_CORRUPT");
      return error as XvmError;
    }
    throw new Error("no error");
  }

  it("is reported with its path and the good copies to restore, and never reset", () => {
    repo.read();
    setCpus(1);
    setCpus(2);
    const path = repo.paths.repository;
    const whole = readFileSync(path, "utf8");
    writeFileSync(path, whole.slice(0, whole.length / 2));
    const err = expectCorrupt(() => repo.read());
    expect(err.message).toContain(`repository ${path} is damaged (checksum mismatch (truncated or overwritten)).`);
    expect(err.message).toContain(`Last good copies:\n  ${path}.1 (generation 1, `);
    expect(err.message).toContain(`  ${path}.2 (generation 0, `);
    expect(err.message).toContain(`Restore one with: cp ${path}.1 ${path}`);
    // Writers refuse too, and the damaged file stays as it was for inspection.
    expectCorrupt(() => setCpus(5));
    expect(readFileSync(path, "utf8")).toBe(whole.slice(0, whole.length / 2));
    // Following the advice brings the last good state back.
    writeFileSync(path, readFileSync(`${path}.1`));
    expect(runningConfig(repo.read())).toBeDefined();
    expect(repo.read().generation).toBe(1);
  });

  it("names each kind of damage", () => {
    const path = repo.paths.repository;
    mkdirSync(join(root, "etc/svc"), { recursive: true });
    writeFileSync(path, "");
    expect(expectCorrupt(() => repo.read()).message).toContain("(empty file)");
    writeFileSync(path, "garbage");
    expect(expectCorrupt(() => repo.read()).message).toContain("(no header line (truncated?))");
    writeFileSync(path, "hello world\n{}\n");
    expect(expectCorrupt(() => repo.read()).message).toContain("(not an xvm repository (bad header line))");
    expect(expectCorrupt(() => repo.read()).message).toContain(`No good copy is kept; move ${path} aside to start from the defaults.`);
  });

  it("says when a kept copy is damaged too", () => {
    repo.read();
    setCpus(1);
    const path = repo.paths.repository;
    writeFileSync(`${path}.1`, "junk");
    writeFileSync(path, "junk");
    expect(expectCorrupt(() => repo.read()).message).toContain(`  ${path}.1 (damaged: no header line (truncated?); not a copy to restore)`);
  });

  it("a damaged backup slot (garbage, a directory) neither stops a write nor pushes a good copy out", () => {
    repo.read();
    for (const n of [1, 2, 3, 4]) setCpus(n);
    const path = repo.paths.repository;
    const generation = (p: string) => (JSON.parse(readFileSync(p, "utf8").split("\n")[1]!) as { generation: number }).generation;
    expect([1, 2, 3].map((i) => generation(`${path}.${i}`))).toEqual([3, 2, 1]);
    // .2 becomes a directory, .1 garbage: the next writes keep every good copy that is left.
    rmSync(`${path}.2`);
    mkdirSync(`${path}.2`);
    writeFileSync(`${path}.1`, "junk");
    setCpus(5);
    expect(repo.read().generation).toBe(5);
    expect([1, 2].map((i) => generation(`${path}.${i}`))).toEqual([4, 1]);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(readFileSync(`${path}.1.damaged`, "utf8")).toBe("junk");
    expect(statSync(`${path}.2.damaged`).isDirectory()).toBe(true);
    setCpus(6);
    expect([1, 2, 3].map((i) => generation(`${path}.${i}`))).toEqual([5, 4, 1]);
    // The restore advice names the newest good copy, not a damaged slot.
    writeFileSync(`${path}.1`, "junk");
    writeFileSync(path, "junk");
    const message = expectCorrupt(() => repo.read()).message;
    expect(message).toContain(`Last good copies:\n  ${path}.2 (generation 4, `);
    expect(message).toContain(`  ${path}.1 (damaged: no header line (truncated?); not a copy to restore)`);
    expect(message).toContain(`Restore one with: cp ${path}.2 ${path}`);
  });

  it("round-trips through encode/decode and detects a flipped byte", () => {
    const data = repo.read();
    const text = encode(data);
    expect(decode(text)).toEqual(data);
    const flipped = text.replace('"dom0-cpus"', '"dom1-cpus"');
    expect(() => decode(flipped)).toThrow("checksum mismatch");
  });
});

describe("the write lock", () => {
  it("is broken when its holder is dead (kill -9 mid-write leaves it behind)", () => {
    repo.read();
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(repo.paths.repositoryLock, dead.stdout);
    setCpus(7);
    expect(repo.read().services[XEND_SERVICE]!.pgs.config!.props["dom0-cpus"]!.values).toEqual(["7"]);
    expect(existsSync(repo.paths.repositoryLock)).toBe(false);
  });

  it("is broken when empty and older than a second (holder died before writing its pid)", () => {
    repo.read();
    writeFileSync(repo.paths.repositoryLock, "");
    const past = new Date(Date.now() - 5000);
    utimesSync(repo.paths.repositoryLock, past, past);
    setCpus(8);
    expect(repo.read().generation).toBe(1);
  });

  it("makes a writer wait for a live holder, then take over once the holder dies", async () => {
    repo.read();
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    started.push(holder.pid!);
    writeFileSync(repo.paths.repositoryLock, String(holder.pid));
    const script = [
      `import { Repository } from ${JSON.stringify(join(repoRoot, "src/smf/repository.ts"))};`,
      `import { Paths } from ${JSON.stringify(join(repoRoot, "src/paths.ts"))};`,
      `import { setProp } from ${JSON.stringify(join(repoRoot, "src/smf/model.ts"))};`,
      "process.stdout.write('waiting\\n');",
      `new Repository(new Paths(${JSON.stringify(root)})).update((d) => setProp(d.services["system/xvm/xend"].pgs, "config", "dom0-cpus", "integer", ["42"]));`,
      "process.stdout.write('done\\n');",
    ].join("\n");
    const writer = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: repoRoot });
    started.push(writer.pid!);
    let out = "";
    writer.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => writer.on("exit", (code) => r(code)));
    await waitFor(() => out.includes("waiting"), "the writer to start");
    // The live holder's lock is respected: the value is unchanged while it lives.
    expect(out).not.toContain("done");
    expect(repo.read().services[XEND_SERVICE]!.pgs.config!.props["dom0-cpus"]!.values).toEqual(["0"]);
    holder.kill("SIGKILL");
    expect(await exited).toBe(0);
    expect(out).toContain("done");
    expect(repo.read().services[XEND_SERVICE]!.pgs.config!.props["dom0-cpus"]!.values).toEqual(["42"]);
  });
});
