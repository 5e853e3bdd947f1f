/**
 * A reader that went away (`xvm svcs -a | head -1`) ends the command as it ends a C program: at
 * once, with nothing on stderr, killed by SIGPIPE (a shell shows status 141). Without this, Node
 * reports the EPIPE as an unhandled 'error' event and Bun as an exception from write(), both with
 * a stack trace and status 1.
 *
 * Node, Bun and Deno ignore SIGPIPE so that writes fail with EPIPE instead. Adding and removing a
 * listener puts back the default action (libuv and the other runtimes reset the handler to SIG_DFL
 * when its last listener goes), so raising it then ends the process as the kernel would have.
 */
export function endOnClosedStdout(stdout: NodeJS.WritableStream = process.stdout): void {
  stdout.on("error", (error: NodeJS.ErrnoException) => {
    // A process with its own listener (the daemons' stdio capture in src/daemon/log.ts, which must
    // outlive a restarter that went away) decides for itself.
    if (stdout.listenerCount("error") > 1) return;
    if (error.code !== "EPIPE") throw error;
    dieOfSigpipe();
  });
}

export function dieOfSigpipe(): never {
  const listener = () => undefined;
  process.on("SIGPIPE", listener);
  process.off("SIGPIPE", listener);
  process.kill(process.pid, "SIGPIPE");
  // Still here (a runtime that kept ignoring it): the status a shell shows for SIGPIPE.
  process.exit(128 + 13);
}
