/**
 * svccfg's main(): getopt("vf:s:"), `-s FMRI` selected first, then one of
 *   -f file            commands from a file ("-" is stdin),
 *   <command> [args]   the remaining arguments joined with spaces into one command,
 *   nothing            commands from stdin, or the interactive prompt when stdin is a terminal.
 * Exit status: 0, 1 when a command failed (svccfg stops at the first failure unless interactive),
 * 2 for a bad command line.
 */
import { readFileSync, statSync } from "node:fs";
import type { createInterface as CreateInterface } from "node:readline";

/** node:readline, loaded only for commands from a file, stdin or the prompt (not `svccfg -s x cmd`). */
const createInterface: typeof CreateInterface = ((...args: Parameters<typeof CreateInterface>) =>
  process.getBuiltinModule("node:readline").createInterface(...args)) as typeof CreateInterface;
import type { Readable, Writable } from "node:stream";
import { getopt } from "../../getopt.ts";
import { XvmError } from "../../errors.ts";
import type { Repository } from "../repository.ts";
import { Engine } from "./engine.ts";
import { SvccfgError } from "./errors.ts";
import { CommandAssembler } from "./lexer.ts";

export const USAGE = "Usage:\tsvccfg [-v] [-s FMRI] [-f file]\n\tsvccfg [-v] [-s FMRI] <command> [args]\n";
/** svccfg_main.c MAX_CMD_LINE_SZ: the joined command line is cut to 2047 bytes. */
const MAX_CMD_LINE = 2047;

export interface Io {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

export interface Options {
  verbose: boolean;
  fmri?: string;
  file?: string;
  operands: string[];
}

/** getopt("vf:s:"); a later -f or -s overrides an earlier one. */
export function parseOptions(args: readonly string[], progName = "svccfg"): Options | { error: string } {
  const g = getopt(args, "vf:s:", progName);
  if (g.error) return { error: g.error.message };
  const o: Options = { verbose: false, operands: g.operands };
  for (const { c, arg } of g.opts) {
    if (c === "v") o.verbose = true;
    else if (c === "f") o.file = arg;
    else o.fmri = arg;
  }
  return o;
}

async function runLines(engine: Engine, lines: AsyncIterable<string> | Iterable<string>): Promise<number> {
  const assembler = new CommandAssembler();
  engine.line = 0;
  for await (const line of lines) {
    engine.line++;
    const command = assembler.push(line);
    if (command === undefined) continue;
    const stop = await engine.run(command);
    if (stop) return stop.code;
  }
  const rest = assembler.flush();
  if (rest !== undefined) {
    const stop = await engine.run(rest);
    if (stop) return stop.code;
  }
  return 0;
}

function fileLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** engine_source(): a file, or stdin for "-". */
async function source(engine: Engine, name: string, io: Io): Promise<number> {
  if (name === "-") {
    engine.mode = { kind: "file", name: "<stdin>" };
    const rl = createInterface({ input: io.stdin, crlfDelay: Infinity, terminal: false });
    try {
      return await runLines(engine, rl);
    } finally {
      rl.close();
    }
  }
  engine.mode = { kind: "command" };
  let text: string;
  try {
    if (!statSync(name).isFile()) {
      engine.message(`${name} is not a regular file.\n`);
      return 1;
    }
    text = readFileSync(name, "utf8");
  } catch (error) {
    engine.message(`Could not open ${name}: ${describeErrno(error)}.\n`);
    return 1;
  }
  engine.mode = { kind: "file", name };
  return runLines(engine, fileLines(text));
}

function describeErrno(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EACCES") return "Permission denied";
  if (code === "EISDIR") return "Is a directory";
  return (error as Error).message;
}

/** engine_interp(): the prompt on a terminal; `> ` while a command goes on; ^C drops the line. */
async function interactive(engine: Engine, io: Io): Promise<number> {
  engine.mode = { kind: "interactive" };
  const rl = createInterface({ input: io.stdin, output: io.stdout, terminal: true, historySize: 512 });
  const assembler = new CommandAssembler();
  const queue: string[] = [];
  let closed = false;
  let wake: (() => void) | undefined;
  const prompt = () => {
    rl.setPrompt(assembler.pending ? "> " : engine.prompt());
    rl.prompt();
  };
  rl.on("line", (line) => {
    queue.push(line);
    wake?.();
  });
  rl.on("close", () => {
    closed = true;
    wake?.();
  });
  rl.on("SIGINT", () => {
    // svccfg ignores SIGINT; like libtecla, abandon the line being typed (^E^U empties readline's).
    io.stdout.write("\n");
    assembler.reset();
    rl.setPrompt(engine.prompt());
    rl.write(null, { ctrl: true, name: "e" });
    rl.write(null, { ctrl: true, name: "u" });
    rl.prompt();
  });
  try {
    for (;;) {
      if (queue.length === 0) {
        if (closed) break;
        prompt();
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const command = assembler.push(queue.shift()!);
      if (command === undefined) continue;
      const stop = await engine.run(command);
      if (stop) return stop.code;
    }
    // ^D: a command left open is dropped, as svccfg does.
    if (!assembler.pending) io.stdout.write("\n");
    return 0;
  } finally {
    rl.close();
  }
}

/** svccfg with its arguments (after any --help handling); returns the exit status. */
export async function svccfgMain(args: readonly string[], io: Io, repo: Repository): Promise<number> {
  const opts = parseOptions(args);
  if ("error" in opts) {
    io.stderr.write(opts.error + USAGE);
    return 2;
  }
  const engine = new Engine(repo, io.stdout, io.stderr, opts.verbose);
  try {
    if (opts.fmri !== undefined) engine.select(opts.fmri);
  } catch (error) {
    if (error instanceof SvccfgError || error instanceof XvmError) {
      engine.message(error instanceof SvccfgError ? error.text : `${error.message}\n`);
      return 1;
    }
    throw error;
  }
  if (opts.file !== undefined) return source(engine, opts.file, io);
  if (opts.operands.length === 0) return io.stdin.isTTY ? interactive(engine, io) : source(engine, "-", io);
  engine.mode = { kind: "command" };
  const line = `${opts.operands.join(" ")} `.slice(0, MAX_CMD_LINE);
  return runLines(engine, line.split("\n"));
}
