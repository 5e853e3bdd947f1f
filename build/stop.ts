/**
 * `npm stop`: stop what `npm start` started on its state root (./.state, or $XVM_ROOT): xend and the
 * restarter, and with `npm stop -- --guests` the guests first. It runs `xvm shutdown`, which says
 * what it did and which guests it left running.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(process.env.XVM_ROOT ?? join(repo, ".state"));
const compiled = join(repo, "dist", "xvm");
const bundle = join(repo, "dist", "xvm.mjs");
const [cmd, ...pre] = existsSync(compiled) ? [compiled] : existsSync(bundle) ? [process.execPath, bundle] : [];
if (!cmd) {
  console.error("npm stop: dist/xvm is missing (nothing was built, so nothing was started): npm run build");
  process.exit(1);
}
console.log(`State root: ${root}${process.env.XVM_ROOT ? " (from $XVM_ROOT)" : ""}`);
const r = spawnSync(cmd, [...pre, "shutdown", ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, XVM_ROOT: root } });
process.exit(r.status ?? 1);
