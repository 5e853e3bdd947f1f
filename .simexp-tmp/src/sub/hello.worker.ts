import { parentPort, workerData } from "node:worker_threads";
import { readlinkSync } from "node:fs";
const x: number = 42;
parentPort!.postMessage({ x, data: workerData, tid: readlinkSync("/proc/thread-self") });
