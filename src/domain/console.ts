/** A running domain's console: what it wrote so far, typing into it, following it (`xm console`). */
import type { DomainModel } from "./model.ts";
import type { ConsoleSubscriber } from "./records.ts";
import type { ConsoleWatch } from "./types.ts";

export async function consoleRead(m: DomainModel, dom: string | number): Promise<string> {
  const rec = m.requireActive(dom, "read the console of");
  if (rec.lost) return "";
  return m.driver.consoleRead(rec.domid);
}

export async function consoleWrite(m: DomainModel, dom: string | number, data: string): Promise<void> {
  const rec = m.requireActive(dom, "write to the console of");
  await m.requireLive(rec, "write to the console of");
  await m.driver.consoleWrite(rec.domid, data);
}

/** Console output reaches watchers through the driver's `console` events (see attach.ts, dispatch). */
export async function watchConsole(m: DomainModel, dom: string | number): Promise<ConsoleWatch> {
  const rec = m.requireActive(dom, "attach to the console of");
  const dataListeners: ((data: string) => void)[] = [];
  const endListeners: ((reason: string) => void)[] = [];
  let ended: string | undefined;
  const sub: ConsoleSubscriber = {
    data: (text) => dataListeners.forEach((l) => l(text)),
    end: (reason) => {
      if (ended !== undefined) return;
      ended = reason;
      endListeners.forEach((l) => l(reason));
    },
  };
  rec.watchers.add(sub);
  if (m.active.get(rec.domid) !== rec) sub.end("the domain was destroyed");
  return {
    onData: (l) => void dataListeners.push(l),
    onEnd: (l) => {
      endListeners.push(l);
      if (ended !== undefined) l(ended);
    },
    close: () => rec.watchers.delete(sub),
  };
}
