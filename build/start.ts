/**
 * `npm start`: build dist/xvm if the sources are newer, bring xend online on a local state root
 * (./.state, or $XVM_ROOT) with `svcadm enable -s xend`, show `svcs -l xend`, and say what to try
 * next. The restarter and the daemon keep running after this script returns; `npm stop` stops them.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(process.env.XVM_ROOT ?? join(repo, ".state"));
const bin = join(repo, "dist", "xvm");
const env = { ...process.env, XVM_ROOT: root };

function step(what: string, cmd: string, args: string[], quiet = false): { code: number; stdout: string } {
  const r = spawnSync(cmd, args, { cwd: repo, env, encoding: "utf8", stdio: ["ignore", quiet ? "pipe" : "inherit", "inherit"] });
  if (r.error) {
    console.error(`npm start: ${what}: ${r.error.message}`);
    process.exit(1);
  }
  return { code: r.status ?? 1, stdout: r.stdout ?? "" };
}

const built = step("build", process.execPath, ["--import", "tsx", "build/build.ts", "--if-stale"]);
if (built.code !== 0 || !existsSync(bin)) {
  console.error("npm start: the build failed; see above");
  process.exit(1);
}

mkdirSync(root, { recursive: true });
const rel = relative(process.cwd(), root);
const shown = rel === "" ? "." : rel.startsWith("..") ? root : rel;
const x = (rest: string) => `XVM_ROOT=${shown} dist/xvm ${rest}`;
console.log(`\nState root: ${root}${process.env.XVM_ROOT ? " (from $XVM_ROOT)" : ""}`);
console.log(`$ ${x("svcadm enable -s xend")}`);
const enabled = step("svcadm enable", bin, ["svcadm", "enable", "-s", "xend"]);
if (enabled.code !== 0) {
  console.error(`\nnpm start: xend did not come online (svcadm exit ${enabled.code}). Why:\n`);
  step("svcs -x", bin, ["svcs", "-xv", "xend"]);
  console.error(`\nThe service log: ${join(root, "var/svc/log/system-xvm-xend:default.log")}`);
  console.error(`After fixing the cause: ${x("svcadm clear xend")}`);
  process.exit(1);
}

console.log(`\n$ ${x("svcs -l xend")}`);
step("svcs -l", bin, ["svcs", "-l", "-p", "xend"]);

const examples = existsSync(join(repo, "examples")) ? "examples/" : "";
// Absolute, so that the line works from any folder of the shell it is pasted into.
const dist = join(repo, "dist");
console.log(`
xend is online. To use \`xvm\` (dist/xvm) on this state root in your shell, as the README's tour does:

  export PATH="${dist}:$PATH" XVM_ROOT="${root}"

Then try:

  xvm svcs -a                                        # the services and their states
  xvm svccfg -s xend listprop config                 # xend's configuration
  xvm svccfg -s xend setprop config/dom0-cpus = 1
  xvm svcadm refresh xend                            # the daemon rereads it (SIGHUP)
  xvm xm list                                        # domains
  xvm xm create ${(examples + "idle.cfg").padEnd(37)}# start a guest
  xvm svcadm restart xend                            # guests keep running across it
  xvm svcs -xv                                       # why something is not running
  tail -f ${join(shown, "var/svc/log/system-xvm-xend:default.log")}

When done:
  npm stop                                           # stops xend and the restarter (xvm shutdown); guests keep running
  npm stop -- --guests                               # shuts the guests down first
`);
