/**
 * Installing as a user does (issue 17 item 1): `npm pack` holds only what runs (the `files` field:
 * the Node bundle, its worker, the prepare script, docs, examples), far under 60 MB; `npm install -g`
 * of that tarball into an empty prefix, offline (the bundle has no runtime dependencies), gives an
 * `xvm` that runs on Node without Bun and brings xend up, runs a guest and stops everything.
 *
 * Packs the dist/xvm.mjs that `npm run build` made (`--ignore-scripts`: the suite's build is the one
 * under test, and rebuilding it here would race the other files' use of dist/).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupRoot, processesOfRoot, tempRoot } from "../helpers/cli.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const version = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string }).version;
let work: string;
let tarball: string;
let packed: { path: string; size: number }[];
let root: string;

function npm(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync("npm", args, { cwd, env: { ...process.env, ...env }, encoding: "utf8", timeout: 180_000 });
  if (r.error) throw r.error;
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(join(repo, "dist/xvm.mjs"))) throw new Error("dist/xvm.mjs is missing: run `npm run build` first");
  work = tempRoot("xvm-install-");
  root = join(work, "state");
  const r = npm(["pack", "--ignore-scripts", "--json", "--pack-destination", work], repo);
  expect(r.code, r.stderr).toBe(0);
  const [info] = JSON.parse(r.stdout) as [{ filename: string; files: { path: string; size: number }[] }];
  tarball = join(work, info.filename);
  packed = info.files;
});

afterAll(async () => {
  await cleanupRoot(work);
});

describe("npm pack", () => {
  it("holds the Node bundle and what documents it, nothing of the tests, benches, CI or sources", () => {
    const paths = packed.map((f) => f.path).sort();
    expect(paths).toContain("dist/xvm.mjs");
    expect(paths).toContain("dist/vcpu.worker.mjs");
    expect(paths).toContain("package.json");
    expect(paths).toContain("README.md");
    expect(paths).toContain("examples/idle.cfg");
    for (const p of paths) {
      expect(p, `${p} should not be packed`).toMatch(/^(dist\/(xvm|vcpu\.worker)\.mjs|build\/prepare\.mjs|package\.json|README\.md|LICENSE|docs\/[\w.-]+\.md|examples\/[\w/.-]+|contrib\/[\w/.@-]+)$/);
      expect(p).not.toMatch(/\.test\.ts$|\.map$/);
    }
    expect(paths.some((p) => p === "dist/xvm")).toBe(false);
    expect(statSync(tarball).size).toBeLessThan(60 * 2 ** 20);
  });
});

describe("npm install -g <tarball>", () => {
  it("installs an xvm that runs on Node: --version, xend online, a guest, shutdown", () => {
    const prefix = join(work, "prefix");
    const r = npm(["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", tarball], work);
    expect(r.code, r.stderr).toBe(0);
    const bin = join(prefix, "bin", "xvm");
    expect(realpathSync(bin)).toBe(join(prefix, "lib/node_modules/xvm/dist/xvm.mjs"));
    const env = { ...process.env, PATH: `${join(prefix, "bin")}:${process.env.PATH}`, XVM_ROOT: root, TZ: "UTC" };
    const x = (...args: string[]) => {
      const res = spawnSync("xvm", args, { env, encoding: "utf8", timeout: 120_000, cwd: work });
      return { code: res.status ?? 1, stdout: res.stdout, stderr: res.stderr };
    };
    expect(x("--version")).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
    expect(x("svccfg", "-s", "xend", "setprop", "config/xend-relocation-server", "=", "false").code).toBe(0);
    expect(x("svcadm", "enable", "-s", "xend")).toEqual({ code: 0, stdout: "", stderr: "" });
    // The daemon and the restarter run the installed bundle on Node, not a compiled binary.
    const procs = processesOfRoot(root);
    expect(procs.length).toBeGreaterThanOrEqual(2);
    for (const p of procs) expect(p.args.some((a) => a.endsWith("xvm.mjs") || a === bin), p.args.join(" ")).toBe(true);
    const created = x("xm", "create", join(prefix, "lib/node_modules/xvm/examples/idle.cfg"));
    expect(created.code, created.stderr).toBe(0);
    expect(x("xm", "list").stdout).toMatch(/^idle1 +1 +64 +1 /m);
    const stop = x("shutdown", "--guests");
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/^Shutting down 1 guest: idle1\nDomain idle1 terminated\nxend stopped/);
    expect(processesOfRoot(root)).toEqual([]);
  });
});
