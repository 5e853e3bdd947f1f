import { Worker } from "node:worker_threads";
export function start(spec: string | URL) {
  return new Promise((res, rej) => {
    const w = new Worker(spec, { workerData: { a: 1 } });
    w.once("message", (m) => { res(m); w.terminate(); });
    w.once("error", rej);
  });
}
