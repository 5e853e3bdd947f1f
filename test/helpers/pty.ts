/**
 * Drives a command on a real terminal: python3's pty module (no npm dependency), each step waiting
 * with a deadline for its text before it types, the exit status collected with a deadline too
 * (the command is killed, by pid, if it does not exit).
 */
import { spawnSync } from "node:child_process";
import { expect } from "vitest";

export interface PtyResult {
  /** The exit status, -1 when the command did not exit. */
  status: number;
  /** Everything the command wrote to the terminal, echo included. */
  transcript: string;
  /** Why the driver gave up (a prompt that never came, no exit), or null. */
  error: string | null;
}

const DRIVER = `
import json, os, pty, select, sys, time
argv, steps = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execve(argv[0], argv, dict(os.environ, TERM="xterm"))
out, pos, error = b"", 0, None
def pump(until):
    global out
    while time.time() < until:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            out += data
            return True
    return True
for want, keys in steps:
    deadline = time.time() + 20
    while out.find(want.encode(), pos) < 0 and time.time() < deadline:
        if not pump(deadline): break
    at = out.find(want.encode(), pos)
    if at < 0:
        error = "timed out waiting for " + repr(want)
        break
    pos = at + len(want)
    os.write(fd, keys.encode())
status, deadline = None, time.time() + 20
while time.time() < deadline:
    pump(time.time() + 0.05)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = os.waitstatus_to_exitcode(st)
        break
if status is None:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    error = error or "did not exit"
# What the command wrote just before it exited, until the terminal reports its end (EIO).
drain = time.time() + 5
try:
    while time.time() < drain and pump(time.time() + 0.05): pass
except Exception:
    pass
print(json.dumps({"status": -1 if status is None else status, "transcript": out.decode("utf-8", "replace"), "error": error}))
`;

/**
 * Runs argv on a pty; each step waits for its text (after the previous match), then types its
 * keys. `env` is added to this process's environment (e.g. XVM_ROOT).
 */
export function onPty(argv: string[], steps: Array<[string, string]>, env: Record<string, string> = {}): PtyResult {
  const r = spawnSync("python3", ["-c", DRIVER, JSON.stringify(argv), JSON.stringify(steps)], {
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 90_000,
  });
  expect(r.status, `python3 drives the pty: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as PtyResult;
}
