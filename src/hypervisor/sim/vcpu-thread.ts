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
 *
 * On Bun the thread is a web `Worker` (a global, no module to load), not node:worker_threads:
 * Bun implements the latter in JavaScript on top of the former, and loading it costs the runner
 * about 3 MiB of heap in the main thread and as much again in each worker (docs/architecture.md,
 * "Memory"). The vCPU's data then arrives as the worker's first message (vcpu.worker.ts).
 */
import { dirname, join } from "node:path";
import { isCompiled, runtimeName } from "../../runtime/self.ts";
import type { VcpuMessage, VcpuWorkerData } from "./vcpu.ts";

const WORKER_FROM_ROOT = "src/hypervisor/sim/vcpu.worker";

/** What guest.ts needs of a vCPU thread, whichever kind of worker runs it. */
export interface VcpuWorker {
  onMessage(listener: (message: VcpuMessage) => void): void;
  onError(listener: (error: Error) => void): void;
  onExit(listener: () => void): void;
  /** Ends the thread; resolves once it is gone. */
  terminate(): Promise<void>;
}

/** Sources on Node only, so node:module and node:url load only there. */
function tsxApiUrl(): string {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    const { createRequire } = process.getBuiltinModule("node:module") as typeof import("node:module");
    const { pathToFileURL } = process.getBuiltinModule("node:url") as typeof import("node:url");
    return pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href;
  }
}

/** The worker entry for this way of running, and whether it must be wrapped for tsx. */
function entry(): { url: string | URL; tsxBootstrap: boolean } {
  if (isCompiled()) return { url: join(dirname(process.argv[1]!), `${WORKER_FROM_ROOT}.js`), tsxBootstrap: false };
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return { url: new URL("./vcpu.worker.mjs", here), tsxBootstrap: false };
  return { url: new URL("./vcpu.worker.ts", here), tsxBootstrap: runtimeName === "node" };
}

interface WebWorker {
  addEventListener(type: "message", listener: (event: { data: VcpuMessage }) => void): void;
  addEventListener(type: "error", listener: (event: { message?: string; error?: unknown }) => void): void;
  addEventListener(type: "close", listener: () => void): void;
  postMessage(data: unknown): void;
  terminate(): void;
}

function startWebWorker(url: string | URL, data: VcpuWorkerData): VcpuWorker {
  const Ctor = (globalThis as unknown as { Worker: new (url: string | URL, options: { name: string }) => WebWorker }).Worker;
  const worker = new Ctor(url, { name: `vcpu${data.vcpu}` });
  let exited = false;
  const exitWaiters: (() => void)[] = [];
  worker.addEventListener("close", () => {
    exited = true;
    for (const resolve of exitWaiters.splice(0)) resolve();
  });
  worker.postMessage(data);
  return {
    onMessage: (listener) => worker.addEventListener("message", (event) => listener(event.data)),
    onError: (listener) =>
      worker.addEventListener("error", (event) => listener(event.error instanceof Error ? event.error : new Error(event.message ?? "worker error"))),
    onExit: (listener) => worker.addEventListener("close", listener),
    terminate: () =>
      new Promise<void>((resolve) => {
        if (exited) return resolve();
        exitWaiters.push(resolve);
        worker.terminate();
      }),
  };
}

function startNodeWorker(url: string | URL, tsxBootstrap: boolean, data: VcpuWorkerData): VcpuWorker {
  // Loaded on first use, so that a runner on Bun never evaluates it.
  const { Worker } = process.getBuiltinModule("node:worker_threads") as typeof import("node:worker_threads");
  const options = { workerData: data, name: `vcpu${data.vcpu}` };
  const worker = tsxBootstrap
    ? new Worker(`import(${JSON.stringify(tsxApiUrl())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(String(url))}); })`, { ...options, eval: true })
    : new Worker(url, options);
  return {
    onMessage: (listener) => worker.on("message", listener),
    onError: (listener) => worker.on("error", listener),
    onExit: (listener) => worker.on("exit", listener),
    terminate: async () => {
      await worker.terminate();
    },
  };
}

export function startVcpuThread(data: VcpuWorkerData): VcpuWorker {
  const { url, tsxBootstrap } = entry();
  return runtimeName === "bun" ? startWebWorker(url, data) : startNodeWorker(url, tsxBootstrap, data);
}
