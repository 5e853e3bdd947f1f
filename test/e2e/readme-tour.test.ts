/**
 * The README's tour, as a new user follows it (issue 17 item 1): `npm start` on a fresh state root
 * prints the `export PATH=… XVM_ROOT=…` line, and every command of the README's "A tour of xm and
 * the daemon" block, pasted into a shell with that line in force, succeeds in the order written.
 * The commands are read from README.md itself, so the README cannot drift from what works. Two
 * need what a shell cannot give here: `xm migrate … otherhost` (another host: the relocation tests
 * migrate between two daemons) and the interactive `xm top` (run until its first screen, then killed).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupRoot, killPids, tempRoot, waitFor } from "../helpers/cli.ts";

const repo = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
const root = tempRoot("xvm-tour-");
const saveFile = join(root, "counter1.save");

afterAll(async () => {
  spawnSync("npm", ["stop", "--silent", "--", "--guests", "--timeout", "5"], { cwd: repo, env: { ...process.env, XVM_ROOT: root }, timeout: 60_000 });
  await cleanupRoot(root);
});

/** The tour's command lines, comments dropped. */
function tourLines(): string[] {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const section = readme.split(/^## A tour of xm and the daemon$/m)[1]!;
  const block = section.split(/^```sh$/m)[1]!.split(/^```$/m)[0]!;
  return block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "");
}

function shell(exportLine: string, line: string, input = ""): { code: number; out: string } {
  const r = spawnSync("bash", ["-c", `${exportLine}\n${line}`], { cwd: repo, input, encoding: "utf8", timeout: 120_000, env: { ...process.env, TZ: "UTC" } });
  return { code: r.status ?? 128, out: `${r.stdout}${r.stderr}` };
}

describe("the README tour", () => {
  let exportLine = "";

  it("npm start brings xend online on the root and prints the line that puts xvm on PATH", () => {
    const r = spawnSync("npm", ["start", "--silent"], { cwd: repo, env: { ...process.env, XVM_ROOT: root }, encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(0);
    const line = r.stdout.split("\n").find((l) => l.trim().startsWith("export PATH="));
    expect(line?.trim()).toBe(`export PATH="${join(repo, "dist")}:$PATH" XVM_ROOT="${root}"`);
    exportLine = line!.trim();
  });

  it("every command of the tour works, in the README's order", async () => {
    const lines = tourLines();
    // The block's first line is what npm start printed; the rest are the tour.
    expect(lines[0]).toMatch(/^export PATH="\$PWD\/dist:\$PATH" XVM_ROOT=/);
    const done: string[] = [];
    for (const raw of lines.slice(1)) {
      // The save file goes to the test's root, not the machine's /tmp.
      const line = raw.replaceAll("/tmp/counter1.save", saveFile);
      if (/ xm migrate .* otherhost$/.test(line)) continue;
      if (line === "xvm xm top") {
        const child = spawn("bash", ["-c", `${exportLine}\nexec ${line}`], { cwd: repo });
        let out = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
        try {
          await waitFor(() => /NAME +STATE +CPU\(sec\)[\s\S]*counter1/.test(out), "xm top's first screen", 20_000);
        } finally {
          await killPids([child.pid!]);
        }
        done.push(line);
        continue;
      }
      if (line.startsWith("xvm mdb ")) {
        // The dump is written as the crash is handled: wait for it as a user would.
        await waitFor(() => existsSync(join(root, "var/xen/dump")) && readdirSync(join(root, "var/xen/dump")).some((f) => f.endsWith(".core")), "the crash dump", 30_000);
        const r = shell(exportLine, line, "::status\n::quit\n");
        expect({ line, code: r.code }).toEqual({ line, code: 0 });
        expect(r.out).toMatch(/^domain: +counter1 \(domid \d+, uuid [0-9a-f-]{36}\)$/m);
        done.push(line);
        continue;
      }
      // xm console with its input at an end: prints the history and exits (issue 17 item 11).
      const r = shell(exportLine, line);
      expect({ line, code: r.code, out: r.code === 0 ? "" : r.out }).toEqual({ line, code: 0, out: "" });
      done.push(line);
    }
    expect(done.length).toBe(lines.length - 2);
    expect(existsSync(saveFile)).toBe(true);
    expect(shell(exportLine, "xvm xm list counter1").out).toMatch(/^counter1 +\d+ +\d+ +1 +----c- /m);
  });
});
