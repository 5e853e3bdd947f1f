/**
 * npm's `prepare` (plain JavaScript: it runs before any dependency is installed). It builds
 * dist/xvm.mjs, the Node bundle the `xvm` bin runs, whenever npm prepares the package: `npm install`
 * in a clone, `npm pack`, and `npm install -g <git checkout or URL>` — which links or copies the
 * checkout without its devDependencies, so the build tools (esbuild, tsx) are installed first
 * from the lockfile (`npm ci --ignore-scripts`). A packed copy (dist/ present, no sources) is built
 * already. The compiled binary (dist/xvm, `npm run build`) is not built here: it needs Bun.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const has = (name) => existsSync(join(root, "node_modules", name, "package.json"));

function run(what, cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) {
    console.error(`xvm prepare: ${what} failed (${r.error ? r.error.message : `exit ${r.status}`})`);
    process.exit(1);
  }
}

if (!existsSync(join(root, "src")) && existsSync(join(root, "dist", "xvm.mjs"))) process.exit(0);
if (!has("tsx") || !has("esbuild")) {
  console.error("xvm prepare: installing the build tools from package-lock.json (npm ci --ignore-scripts)");
  const npm = process.env.npm_execpath;
  const [cmd, ...pre] = npm && npm.endsWith(".js") ? [process.execPath, npm] : ["npm"];
  // Inside `npm install -g`, npm's settings say global and name the global prefix: this install is local.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_config_(global|prefix|location)$/i.test(k)));
  run("npm ci", cmd, [...pre, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], env);
}
run("the build of dist/xvm.mjs", process.execPath, ["--import", "tsx", "build/build.ts", "--no-compile"]);
