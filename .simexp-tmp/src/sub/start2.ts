import { Worker } from "node:worker_threads";
export async function start() {
  console.log("meta", import.meta.url);
  const cands: (string|URL)[] = [
    new URL("./hello.worker.ts", import.meta.url),
    "/$bunfs/root/src/sub/hello.worker.js",
    new URL("./hello.worker.mjs", import.meta.url),
  ];
  for (const c of cands) {
    try { console.log(String(c), "=>", JSON.stringify(await new Promise((res, rej) => {
      const w = new Worker(c, { workerData: { a: 1 } });
      w.once("message", (m) => { res(m); w.terminate(); });
      w.once("error", rej);
    }))); } catch (e) { console.log(String(c), "FAIL", String(e).slice(0,150)); }
  }
}
