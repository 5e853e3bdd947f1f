/**
 * Issue 16, row 2: cold start of the everyday read commands through the compiled binary —
 * `xvm svcs -a`, `xvm svccfg -s xend listprop`, and `xvm xm list` against a running xend with one
 * guest (a 16 MiB `sim:idle`, so the list shows Domain-0 and one domain) — each next to a
 * `bun build --compile` hello-world binary built in the same run. Goal: at most 3x.
 *
 *   npm run bench -- cli-commands       [-- --bin dist/xvm] [--rounds 25]
 *
 * Every process started (xend, the guest's runner) is killed by pid at the end.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unixJson } from "../src/runtime/http-client.ts";
import { bin, buildHello, measure, report, rounds } from "./lib/cold-start.ts";

const dir = mkdtempSync(join(tmpdir(), "xvm-bench-cli-commands-"));
const root = join(dir, "root");
const env = { ...process.env, XVM_ROOT: root };

function xvm(args: string[]): void {
  const r = spawnSync(bin, args, { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`xvm ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
}

/** xend and the guests' runners of this root, by their pid files. */
function pids(xendPid: number | undefined): number[] {
  const out = xendPid ? [xendPid] : [];
  const domains = join(root, "var/run/xend/domains");
  try {
    for (const d of readdirSync(domains)) {
      try {
        out.push(Number.parseInt(readFileSync(join(domains, d, "pid"), "utf8"), 10));
      } catch {
        // no runner yet
      }
    }
  } catch {
    // no guests
  }
  return out.filter((p) => p > 1);
}

let xendPid: number | undefined;
try {
  const hello = buildHello(dir);
  // The repository, with the relocation server off (no TCP port taken on a shared machine).
  xvm(["svccfg", "-s", "xend", "setprop", "config/xend-relocation-server", "=", "false"]);
  xvm(["svccfg", "-s", "xend:default", "refresh"]);
  xendPid = spawn(bin, ["xend"], { env, stdio: "ignore" }).pid;
  const deadline = Date.now() + 60_000;
  while (spawnSync(bin, ["xm", "list"], { env }).status !== 0) {
    if (Date.now() > deadline) throw new Error("xend did not answer within 60 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  await unixJson(join(root, "var/run/xend/control.sock"), "POST", "/domains", { config: { name: "bench1", kernel: "sim:idle", memory: 16 } }, 60_000);

  console.log(`binary ${bin}; ${rounds} rounds, interleaved, medians`);
  const m = measure(
    [
      { label: "hello", cmd: hello, args: [], expect: /^hello\n$/ },
      { label: "xvm svcs -a", cmd: bin, args: ["svcs", "-a"], expect: /svc:\/system\/xvm\/xend:default/ },
      { label: "xvm svccfg -s xend listprop", cmd: bin, args: ["svccfg", "-s", "xend", "listprop"], expect: /config\/xend-relocation-server/ },
      { label: "xvm xm list (1 domain)", cmd: bin, args: ["xm", "list"], expect: /^Name .*\nDomain-0 .*\nbench1 .*\n$/ },
    ],
    env,
  );
  const base = m.get("hello")!;
  for (const label of ["xvm svcs -a", "xvm svccfg -s xend listprop", "xvm xm list (1 domain)"]) report(label, m.get(label)!, "hello", base, 3);
} finally {
  for (const pid of pids(xendPid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
