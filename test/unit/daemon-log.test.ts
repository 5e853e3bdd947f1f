import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LogSink, callerLocation, captureStdio, createLogger, formatLine, moduleName } from "../../src/daemon/log.ts";
import { withoutLineNo } from "../helpers/log-lines.ts";
import { MAX_BYTES, RotatingFile, appendRotating } from "../../src/runtime/rotating-file.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d+\] (TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL) \([^)]+\) .*$/;

describe("xend log line format", () => {
  it("is [YYYY-MM-DD HH:MM:SS pid] LEVEL (component) message, in local time", () => {
    expect(formatLine(new Date(2009, 3, 30, 14, 33, 2), 1234, "DEBUG", "XendDomainInfo", "message")).toBe(
      "[2009-04-30 14:33:02 1234] DEBUG (XendDomainInfo) message\n",
    );
  });

  it("sends each level where it belongs: xend.log at its level, xend-debug.log from DEBUG", () => {
    const sink = new LogSink();
    const main = join(dir, "levels/xend.log");
    const debug = join(dir, "levels/xend-debug.log");
    sink.openMain(main, "INFO");
    sink.openDebug(debug);
    sink.setLevel("INFO");
    const log = createLogger(sink, "relocation");
    log.trace("t");
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.child("conn").error("e");
    const strip = (p: string) => readFileSync(p, "utf8").split("\n").filter(Boolean).map((l) => {
      expect(l).toMatch(LINE);
      expect(l).toContain(` ${process.pid}] `);
      return withoutLineNo(l.replace(/^\[[^\]]+\] /, ""));
    });
    const at = "unit/daemon-log.test";
    expect(strip(main)).toEqual([`INFO (${at}) i`, `WARNING (${at}) w`, `ERROR (${at}) e`]);
    expect(strip(debug)).toEqual([`DEBUG (${at}) d`, `INFO (${at}) i`, `WARNING (${at}) w`, `ERROR (${at}) e`]);
    sink.setLevel("TRACE");
    log.trace("t2");
    expect(strip(main).at(-1)).toBe(`TRACE (${at}) t2`);
    expect(strip(debug).at(-1)).toBe(`TRACE (${at}) t2`);
    sink.close();
  });

  it("writes through: a line is in the file as soon as it is logged", () => {
    const sink = new LogSink();
    const main = join(dir, "through/xend.log");
    sink.openMain(main, "DEBUG");
    createLogger(sink, "xend").info("first");
    expect(readFileSync(main, "utf8")).toMatch(/\] INFO \(unit\/daemon-log\.test:\d+\) first\n$/);
    sink.close();
  });
});

describe("the (module:lineno) location", () => {
  it("names the folder/file and the line of the statement that logged, as xend's (module:lineno)", () => {
    const sink = new LogSink();
    const lines: string[] = [];
    sink.echoTo((t) => lines.push(t));
    const log = createLogger(sink, "relocation");
    log.info("here"); // LOCATION-MARK-1
    log.child("conn").warn("there"); // LOCATION-MARK-2
    const source = readFileSync(new URL(import.meta.url).pathname, "utf8").split("\n");
    const lineOf = (mark: string) => source.findIndex((l) => l.endsWith(`// ${mark}`)) + 1;
    expect(lines).toEqual([
      `[xend] INFO (unit/daemon-log.test:${lineOf("LOCATION-MARK-1")}) here\n`,
      `[xend] WARNING (unit/daemon-log.test:${lineOf("LOCATION-MARK-2")}) there\n`,
    ]);
  });

  it("reads module names as xend's modules: folder/file, a folder's index as the folder", () => {
    expect(moduleName("/work/xvm/src/daemon/daemon.ts")).toBe("daemon/daemon");
    expect(moduleName("plugins/relocation/index.ts")).toBe("relocation");
    expect(moduleName("/opt/plugins/motd/index.js")).toBe("motd");
    expect(callerLocation("Error\n    at fn (src/daemon/log.ts:10:3)\n    at go (plugins/relocation/send.ts:88:7)\n")).toBe("relocation/send:88");
    expect(callerLocation("Error\n    at file:///x/src/daemon/log.ts:10:3\n    at file:///x/src/domain/manager.ts:412:9\n")).toBe("domain/manager:412");
    // A bundle without its source map names no source line: the component stands in.
    expect(callerLocation("Error\n    at fn (/$bunfs/root/xvm:88:1384)\n")).toBeUndefined();
    expect(callerLocation("Error\n    at fn (/usr/lib/xvm/dist/xvm.mjs:100:2)\n")).toBeUndefined();
  });
});

describe("one rotating writer shared by processes (service log: restarter and xend)", () => {
  it("follows another writer's rotation and never writes into a rotated file", () => {
    const path = join(dir, "shared/svc.log");
    const a = new RotatingFile(path, { maxBytes: 100, backups: 2 });
    const b = new RotatingFile(path, { maxBytes: 100, backups: 2 });
    const line = (who: string, i: number) => `${who}${String(i).padStart(3, "0")} ${"x".repeat(25)}\n`;
    for (let i = 0; i < 12; i++) (i % 2 ? b : a).write(line(i % 2 ? "b" : "a", i));
    a.close();
    b.close();
    const files = [path, `${path}.1`, `${path}.2`].map((p) => readFileSync(p, "utf8"));
    for (const text of files) expect(Buffer.byteLength(text)).toBeLessThan(100);
    expect(existsSync(`${path}.3`)).toBe(false);
    // The newest lines, in order, across the kept files: nothing written into a file moved away.
    const kept = [...files].reverse().join("").split("\n").filter(Boolean).map((l) => l.slice(0, 4));
    expect(kept).toEqual(["b003", "a004", "b005", "a006", "b007", "a008", "b009", "a010", "b011"]);
  });

  it("appendRotating keeps one writer per path and rotates the service log like xend.log", () => {
    const path = join(dir, "shared2/system-xvm-xend:default.log");
    for (let i = 0; i < 3000; i++) appendRotating(path, `[ Sep  4 10:12:01 line ${i} ${"y".repeat(400)} ]\n`);
    expect(statSync(path).size).toBeLessThan(MAX_BYTES);
    expect(statSync(`${path}.1`).size).toBeLessThan(MAX_BYTES);
    expect(existsSync(`${path}.5`) || existsSync(`${path}.1`)).toBe(true);
    expect(existsSync(`${path}.6`)).toBe(false);
  });
});

describe("rotation", () => {
  it("rolls over before 1 MiB and keeps xend.log.1 … xend.log.5, whole lines only", () => {
    const path = join(dir, "rot/xend.log");
    const file = new RotatingFile(path);
    const body = "x".repeat(1000);
    const total = 7300; // ~7 MiB: more than the 6 files hold
    for (let i = 0; i < total; i++) file.write(`${String(i).padStart(6, "0")} ${body}\n`);
    file.close();
    const names = ["", ".1", ".2", ".3", ".4", ".5"].map((s) => `${path}${s}`);
    for (const n of names) expect(existsSync(n)).toBe(true);
    expect(existsSync(`${path}.6`)).toBe(false);
    const seqs: number[] = [];
    for (const n of [...names].reverse()) {
      const size = statSync(n).size;
      expect(size).toBeLessThan(MAX_BYTES);
      if (n !== path) expect(size).toBeGreaterThan(MAX_BYTES - 1008);
      const lines = readFileSync(n, "utf8").split("\n").filter(Boolean);
      for (const l of lines) {
        expect(l).toMatch(/^\d{6} x{1000}$/);
        seqs.push(Number(l.slice(0, 6)));
      }
    }
    // Oldest (.5) to newest (xend.log) is one unbroken run ending with the last line written.
    expect(seqs.at(-1)).toBe(total - 1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
    expect(seqs.length).toBeGreaterThan(5 * 1040);
  });

  it("counts what an existing file already holds", () => {
    const path = join(dir, "existing/xend.log");
    new RotatingFile(path).close();
    writeFileSync(path, "y".repeat(MAX_BYTES - 10));
    const file = new RotatingFile(path);
    file.write("a line of more than ten bytes\n");
    file.close();
    expect(statSync(`${path}.1`).size).toBe(MAX_BYTES - 10);
    expect(readFileSync(path, "utf8")).toBe("a line of more than ten bytes\n");
  });

  it("honours smaller limits and backup counts", () => {
    const path = join(dir, "small/x.log");
    const file = new RotatingFile(path, { maxBytes: 100, backups: 2 });
    for (let i = 0; i < 20; i++) file.write(`line ${String(i).padStart(2, "0")} ${"z".repeat(30)}\n`);
    file.close();
    expect(existsSync(`${path}.2`)).toBe(true);
    expect(existsSync(`${path}.3`)).toBe(false);
    expect(readFileSync(path, "utf8").split("\n").filter(Boolean).at(-1)).toMatch(/^line 19 /);
  });
});

describe("stdout and stderr into xend-debug.log", () => {
  it("copies process.stdout/stderr writes and console output, until restored", () => {
    const path = join(dir, "stdio/xend-debug.log");
    const file = new RotatingFile(path);
    const { restore } = captureStdio(() => file);
    try {
      process.stdout.write("plain stdout line\n");
      process.stderr.write(Buffer.from("bytes on stderr\n"));
      console.log("console %s", "formatted", 42);
      console.error("console error");
    } finally {
      restore();
    }
    process.stdout.write("");
    console.log("after restore");
    file.close();
    expect(readFileSync(path, "utf8")).toBe("plain stdout line\nbytes on stderr\nconsole formatted 42\nconsole error\n");
  });
});

describe("XEND_DEBUG", () => {
  it("echoes every line on stderr in xend's stderr format, whatever the file levels", () => {
    const sink = new LogSink();
    sink.openMain(join(dir, "echo/xend.log"), "ERROR");
    const echoed: string[] = [];
    sink.echoTo((t) => echoed.push(t));
    createLogger(sink, "unix-server").info("listening");
    sink.close();
    expect(echoed.map(withoutLineNo)).toEqual(["[xend] INFO (unit/daemon-log.test) listening\n"]);
    expect(readFileSync(join(dir, "echo/xend.log"), "utf8")).toBe("");
  });
});
