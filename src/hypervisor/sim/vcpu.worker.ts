// Entry point of a vCPU worker thread (an extra entry point of both builds, see build/build.ts).
// On Bun the thread is a web Worker and its data is the first message (vcpu-thread.ts says why);
// elsewhere it is a node:worker_threads Worker with workerData.
import { runVcpu, type VcpuMessage, type VcpuWorkerData } from "./vcpu.ts";

interface WorkerScope {
  postMessage(message: VcpuMessage): void;
  addEventListener(type: "message", listener: (event: { data: VcpuWorkerData }) => void, options: { once: boolean }): void;
}

if ((globalThis as { Bun?: unknown }).Bun) {
  const scope = globalThis as unknown as WorkerScope;
  scope.addEventListener("message", (event) => runVcpu(event.data, (message) => scope.postMessage(message)), { once: true });
} else {
  const { parentPort, workerData } = await import("node:worker_threads");
  runVcpu(workerData as VcpuWorkerData, (message) => parentPort!.postMessage(message));
}
