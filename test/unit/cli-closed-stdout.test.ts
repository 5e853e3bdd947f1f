/**
 * The in-process side of endOnClosedStdout: the EPIPE path itself ends the process (SIGPIPE), so
 * test/e2e/cli-closed-stdout.test.ts covers it with real processes.
 */
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { endOnClosedStdout } from "../../src/cli/closed-stdout.ts";

const epipe = () => Object.assign(new Error("write EPIPE"), { code: "EPIPE", syscall: "write" });

describe("endOnClosedStdout", () => {
  it("leaves a stream with its own 'error' listener (the daemons' stdio capture) to that listener", () => {
    const stdout = new PassThrough();
    endOnClosedStdout(stdout);
    const seen: unknown[] = [];
    stdout.on("error", (error) => seen.push(error));
    const error = epipe();
    stdout.emit("error", error);
    expect(seen).toEqual([error]);
  });

  it("does not swallow other write errors: they fail the command as before", () => {
    const stdout = new PassThrough();
    endOnClosedStdout(stdout);
    const error = Object.assign(new Error("write EIO"), { code: "EIO" });
    expect(() => stdout.emit("error", error)).toThrow(error);
  });
});
