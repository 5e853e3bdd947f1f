/**
 * The commands' stdin, stdout and stderr, created only when a command needs a stream.
 *
 * Bun builds `process.stdout` (and stdin, stderr) on first use, with its Node stream machinery:
 * about 20 ms of CPU, more than the rest of a `svcs -a`. Most commands only write text, so their
 * stdout and stderr write straight to the file descriptor (synchronously, as Node's stdout does
 * on pipes and files on Linux) and become the real stream only for a command that asks for more
 * than write() — readline (svccfg's prompt), raw mode (xm console), isTTY, columns, events.
 * A write to a closed pipe ends the command as SIGPIPE would (src/cli/closed-stdout.ts).
 */
import { writeSync } from "node:fs";
import { dieOfSigpipe, endOnClosedStdout } from "./closed-stdout.ts";

type Name = "stdin" | "stdout" | "stderr";

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `data` to `fd`, waiting out a non-blocking descriptor that is full. */
function writeAll(fd: number, data: string | Uint8Array): void {
  let buf = typeof data === "string" ? Buffer.from(data) : data;
  while (buf.length > 0) {
    try {
      const n = writeSync(fd, buf);
      buf = buf.subarray(n);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EAGAIN") Atomics.wait(sleeper, 0, 0, 1);
      // A reader that went away ends the command as SIGPIPE ends a C program.
      else if (code === "EPIPE") dieOfSigpipe();
      else throw error;
    }
  }
}

function lazyStream<T extends object>(name: Name, fd: number | undefined): T {
  let real: T | undefined;
  const materialize = (): T => {
    if (!real) {
      real = process[name] as unknown as T;
      if (name === "stdout") endOnClosedStdout(real as NodeJS.WritableStream);
    }
    return real;
  };
  const fastWrite = (chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean => {
    writeAll(fd!, chunk);
    const done = typeof encoding === "function" ? encoding : cb;
    if (typeof done === "function") queueMicrotask(() => (done as () => void)());
    return true;
  };
  return new Proxy({} as T, {
    get(_, key) {
      if (key === "write" && fd !== undefined && !real) return fastWrite;
      const target = materialize();
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set(_, key, value) {
      return Reflect.set(materialize(), key, value);
    },
    has(_, key) {
      return Reflect.has(materialize(), key);
    },
  });
}

export interface Stdio {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** The three streams for a command's context; none is created before it is used. */
export function lazyStdio(): Stdio {
  return {
    stdin: lazyStream<NodeJS.ReadStream>("stdin", undefined),
    stdout: lazyStream<NodeJS.WriteStream>("stdout", 1),
    stderr: lazyStream<NodeJS.WriteStream>("stderr", 2),
  };
}
