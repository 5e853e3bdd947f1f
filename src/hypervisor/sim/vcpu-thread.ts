/**
 * Starting a vCPU worker thread, in each of the three ways the program runs:
 *
 * - compiled (`bun build --compile`): the worker is an extra entry point of the executable, stored
 *   in its virtual file system under the path it had relative to the common root of the entry
 *   points (build/build.ts passes bin/xvm.ts and src/**\/*.worker.ts, so the root is the repository);
 * - the esbuild bundle: esbuild emits `vcpu.worker.mjs` beside `xvm.mjs`, and this code then runs
 *   from `xvm.mjs`, so `import.meta.url` points at that folder;
 * - sources: on Bun and Deno the `.ts` file loads as is. On Node through tsx, a worker does not get
 *   tsx's loader from the parent's `--import` (Node 20), so a small bootstrap registers tsx inside
 *   the worker before importing the `.ts` entry.
 */
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { isCompiled, runtimeName } from "../../runtime/self.ts";
import type { VcpuWorkerData } from "./vcpu.ts";

const WORKER_FROM_ROOT = "src/hypervisor/sim/vcpu.worker";

function tsxApiUrl(): string {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    return pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href;
  }
}

export function startVcpuThread(data: VcpuWorkerData): Worker {
  const options = { workerData: data, name: `vcpu${data.vcpu}` };
  if (isCompiled()) return new Worker(join(dirname(process.argv[1]!), `${WORKER_FROM_ROOT}.js`), options);
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./vcpu.worker.mjs", here), options);
  const entry = new URL("./vcpu.worker.ts", here);
  if (runtimeName !== "node") return new Worker(entry, options);
  const bootstrap = `import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
