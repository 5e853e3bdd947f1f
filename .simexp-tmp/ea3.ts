import { Worker } from "node:worker_threads";
import { createRequire } from "node:module";
const url = new URL("./src/sub/hello.worker.ts", import.meta.url).href;
const api = import.meta.resolve("tsx/esm/api");
console.log(api);
await new Promise<void>((res) => {
  const w = new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`, { eval: true, workerData: 1 });
  w.once("message", (m) => { console.log("OK", JSON.stringify(m)); w.terminate(); res(); });
  w.once("error", (e) => { console.log("FAIL", String(e).slice(0, 300)); res(); });
});
