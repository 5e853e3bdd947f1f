/**
 * xend's logging: `xend.log` at the configured level and `xend-debug.log` at debug level, both in
 * xend's line format `[YYYY-MM-DD HH:MM:SS pid] LEVEL (component) message` (local time, as
 * Python's asctime), both rotated at 1 MiB keeping 5. xend put `(module:line)` where we put the
 * component: the plugin's name, or the core's part (`xend`, `xend.api`, …).
 *
 * Hand-written rather than LogTape (library-notes §1): LogTape's rotating sink buffers unless
 * each write fsyncs, and xend's layout is 60 lines of code.
 */
import { format } from "node:util";
import type { Logger } from "../logger.ts";
import { RotatingFile, type RotationOptions } from "./rotating-file.ts";

export const LEVELS = { TRACE: 5, DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40, CRITICAL: 50 } as const;
export type LevelName = keyof typeof LEVELS;

export function isLevelName(name: string): name is LevelName {
  return Object.hasOwn(LEVELS, name);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export function formatTimestamp(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

export function formatLine(date: Date, pid: number, level: LevelName, component: string, message: string): string {
  return `[${formatTimestamp(date)} ${pid}] ${level} (${component}) ${message}\n`;
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

  emit(level: LevelName, component: string, message: string, date = new Date()): void {
    const n = LEVELS[level];
    let line: string | undefined;
    const text = () => (line ??= formatLine(date, process.pid, level, component, message));
    if (this.main && n >= this.main.level) this.main.file.write(text());
    if (this.debug && n >= this.debug.level) this.debug.file.write(text());
    // xend's XEND_DEBUG stderr format: "[%(name)s] %(levelname)s (%(module)s:%(lineno)d) %(message)s".
    if (this.stderr) this.stderr(`[xend] ${level} (${component}) ${message}\n`);
  }

  close(): void {
    this.main?.file.close();
    this.debug?.file.close();
  }
}

export function createLogger(sink: LogSink, component: string): Logger & { critical(message: string): void } {
  return {
    trace: (m) => sink.emit("TRACE", component, m),
    debug: (m) => sink.emit("DEBUG", component, m),
    info: (m) => sink.emit("INFO", component, m),
    warn: (m) => sink.emit("WARNING", component, m),
    error: (m) => sink.emit("ERROR", component, m),
    critical: (m) => sink.emit("CRITICAL", component, m),
    child: (sub) => createLogger(sink, `${component}.${sub}`),
  };
}

/**
 * Copies everything the process writes on stdout/stderr (console.* included: Bun's console does
 * not go through process.stdout) into `file`, as xend-debug.log held xend's stdout and stderr.
 * The original streams still get the text (the restarter puts it in the service log).
 * Returns the original stderr writer and a function that undoes the capture.
 */
export function captureStdio(file: () => RotatingFile | undefined): { rawStderr: (text: string) => void; restore: () => void } {
  const out = process.stdout;
  const err = process.stderr;
  const origOut = out.write.bind(out) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const origErr = err.write.bind(err) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const tee = (orig: typeof origOut) =>
    function (chunk: unknown, ...rest: unknown[]): boolean {
      const f = file();
      if (f) f.write(typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8"));
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
