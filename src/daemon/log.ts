/**
 * xend's logging: `xend.log` at the configured level and `xend-debug.log` at debug level, both in
 * xend's line format `[YYYY-MM-DD HH:MM:SS pid] LEVEL (module:lineno) message` (local time, as
 * Python's asctime), both rotated at 1 MiB keeping 5. As Python's `%(module)s:%(lineno)d`, the
 * location is where the line was logged: the source file (its folder and name, see moduleName)
 * and the line in it, read from the call stack (the compiled binary embeds a source map for
 * that): `[2026-12-07 06:00:00 1234] INFO (daemon/daemon:141) config/loglevel: …`. Where no
 * location can be read, the logger's component stands in (`xend`, `xend.api`, a plugin's name).
 *
 * Hand-written rather than LogTape (library-notes §1): LogTape's rotating sink buffers unless
 * each write fsyncs, and xend's layout is 60 lines of code.
 */
import { format } from "node:util";
import type { Logger } from "../logger.ts";
import { RotatingFile, appendRotating, type RotationOptions } from "../runtime/rotating-file.ts";

export const LEVELS = { TRACE: 5, DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 } as const;
export type LevelName = keyof typeof LEVELS;

export function isLevelName(name: string): name is LevelName {
  return Object.hasOwn(LEVELS, name);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export function formatTimestamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function formatLine(date: Date, pid: number, level: LevelName, location: string, message: string): string {
  return `[${formatTimestamp(date)} ${pid}] ${level} (${location}) ${message}\n`;
}

/** `at fn (file:line:col)` or `at file:line:col`, file possibly a file:// URL. */
const FRAME = /^\s*at (?:.*? \()?(?:file:\/\/)?([^\s()]+?):(\d+):\d+\)?$/;

/**
 * A source file as a module name: its folder and name without extension (`relocation/server`,
 * `daemon/daemon`, `sim/runner`), enough to tell a plugin's files from the core's; a folder's
 * `index` is the folder (`relocation`, an external plugin's `motd`).
 */
export function moduleName(file: string): string {
  const parts = file.split("/").filter(Boolean);
  const base = parts.at(-1)!.replace(/\.(ts|js|mjs)$/, "");
  const dir = parts.at(-2);
  if (base === "index") return dir ?? base;
  return dir ? `${dir}/${base}` : base;
}

/**
 * `module:lineno` of the first frame outside this file: the code that logged. Frames are told
 * apart by file, not counted (the compiled binary inlines small functions such as the logger's
 * methods). A frame in a bundle without its source map (`xvm.mjs`, `/$bunfs/…`): undefined.
 */
export function callerLocation(stack = new Error().stack): string | undefined {
  for (const frame of (stack ?? "").split("\n")) {
    const m = FRAME.exec(frame);
    if (!m) continue;
    const file = m[1]!;
    if (/(^|\/)daemon\/log\.ts$/.test(file)) continue;
    if (!/\.(ts|js|mjs)$/.test(file) || file.includes("$bunfs") || /(^|\/)xvm\.mjs$/.test(file)) return undefined;
    return `${moduleName(file)}:${m[2]}`;
  }
  return undefined;
}

interface Target {
  file: RotatingFile;
  level: number;
}

/** Where log records go: the main log, the debug log, and (with XEND_DEBUG set) stderr. */
export class LogSink {
  private main: Target | undefined;
  private debug: Target | undefined;
  /** Writes to the real stderr even while stdio is captured (so lines are not copied twice). */
  private stderr: ((text: string) => void) | undefined;

  constructor(private readonly rotation: RotationOptions = {}) {}

  /** Opens (or reopens at a new path) the main log; throws if it cannot be opened. */
  openMain(path: string, level: LevelName): void {
    if (this.main?.file.path === path) {
      this.main.level = LEVELS[level];
      return;
    }
    const file = new RotatingFile(path, this.rotation);
    this.main?.file.close();
    this.main = { file, level: LEVELS[level] };
  }

  openDebug(path: string): void {
    if (this.debug?.file.path === path) return;
    const file = new RotatingFile(path, this.rotation);
    this.debug?.file.close();
    this.debug = { file, level: LEVELS.DEBUG };
  }

  get mainPath(): string | undefined {
    return this.main?.file.path;
  }

  get debugFile(): RotatingFile | undefined {
    return this.debug?.file;
  }

  setLevel(level: LevelName): void {
    if (this.main) this.main.level = LEVELS[level];
    // The debug log keeps everything from DEBUG up, and TRACE too when the main log asks for it.
    if (this.debug) this.debug.level = Math.min(LEVELS.DEBUG, LEVELS[level]);
  }

  echoTo(write: ((text: string) => void) | undefined): void {
    this.stderr = write;
  }

  /** Whether a record at `level` goes anywhere (a filtered one costs no call-stack reading). */
  wants(level: LevelName): boolean {
    const n = LEVELS[level];
    return (this.main !== undefined && n >= this.main.level) || (this.debug !== undefined && n >= this.debug.level) || this.stderr !== undefined;
  }

  /**
   * Writes one record. `where` is the `module:lineno` of the call (see callerLocation); the
   * component stands in when there is none.
   */
  emit(level: LevelName, component: string, message: string, date = new Date(), where?: string): void {
    const n = LEVELS[level];
    let line: string | undefined;
    const location = where ?? component;
    const text = () => (line ??= formatLine(date, process.pid, level, location, message));
    if (this.main && n >= this.main.level) this.main.file.write(text());
    if (this.debug && n >= this.debug.level) this.debug.file.write(text());
    // xend's XEND_DEBUG stderr format: "[%(name)s] %(levelname)s (%(module)s:%(lineno)d) %(message)s".
    if (this.stderr) this.stderr(`[xend] ${level} (${location}) ${message}\n`);
  }

  close(): void {
    this.main?.file.close();
    this.debug?.file.close();
  }
}

export function createLogger(sink: LogSink, component: string): Logger & { critical(message: string): void } {
  const at = (level: LevelName, m: string) => {
    if (sink.wants(level)) sink.emit(level, component, m, new Date(), callerLocation());
  };
  return {
    trace: (m) => at("TRACE", m),
    debug: (m) => at("DEBUG", m),
    info: (m) => at("INFO", m),
    warn: (m) => at("WARNING", m),
    error: (m) => at("ERROR", m),
    critical: (m) => at("CRITICAL", m),
    child: (sub) => createLogger(sink, `${component}.${sub}`),
  };
}

/**
 * Copies everything the process writes on stdout/stderr (console.* included: Bun's console does
 * not go through process.stdout) into `file`, as xend-debug.log held xend's stdout and stderr.
 * The original streams still get the text (the restarter puts it in the service log) — or, given
 * `serviceLog` (the restarter names it in XVM_SERVICE_LOG), the text is appended to that file
 * through the rotating writer, which follows the restarter's rotations of it.
 * Returns the original stderr writer and a function that undoes the capture.
 */
export function captureStdio(file: () => RotatingFile | undefined, serviceLog?: string): { rawStderr: (text: string) => void; restore: () => void } {
  const out = process.stdout;
  const err = process.stderr;
  const origOut = out.write.bind(out) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const origErr = err.write.bind(err) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const tee = (orig: typeof origOut) =>
    function (chunk: unknown, ...rest: unknown[]): boolean {
      const f = file();
      const text = () => (typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
      if (f) f.write(text());
      if (serviceLog && appendRotating(serviceLog, text(), { who: "xend" })) {
        const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        done?.();
        return true;
      }
      try {
        return orig(chunk, ...rest);
      } catch {
        // A closed pipe (the restarter went away) must not take the daemon with it.
        return false;
      }
    };
  // EPIPE arrives as an 'error' event; unhandled, it would end the daemon.
  const ignore = () => undefined;
  out.on("error", ignore);
  err.on("error", ignore);
  out.write = tee(origOut) as typeof out.write;
  err.write = tee(origErr) as typeof err.write;
  const saved = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  console.log = (...a: unknown[]) => void out.write(`${format(...a)}\n`);
  console.info = console.log;
  console.debug = console.log;
  console.warn = (...a: unknown[]) => void err.write(`${format(...a)}\n`);
  console.error = console.warn;
  return {
    rawStderr: (text) => {
      try {
        origErr(text);
      } catch {
        // see above
      }
    },
    restore: () => {
      out.off("error", ignore);
      err.off("error", ignore);
      out.write = origOut as typeof out.write;
      err.write = origErr as typeof err.write;
      Object.assign(console, saved);
    },
  };
}
