// Entry point of a vCPU worker thread (an extra entry point of both builds, see build/build.ts).
import { parentPort, workerData } from "node:worker_threads";
import { runVcpu, type VcpuWorkerData } from "./vcpu.ts";

runVcpu(workerData as VcpuWorkerData, (message) => parentPort!.postMessage(message));
