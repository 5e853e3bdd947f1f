/**
 * Asking a destination whether it runs a guest (QUERY → STATUS), for a source whose xend went away
 * after it had sent the guest and before it heard DONE: its copy is stopped and stale if the
 * destination started the guest. Same connection and key handshake as a migration (send.ts).
 */
import { errorMessage } from "xvm/plugin";
import { helloProblem, helloSxp } from "./receive.ts";
import { Msg, field, msgName } from "./channel.ts";
import { openChannel } from "./send.ts";

export type RemoteState = "running" | "paused" | "arriving" | "none";
const STATES: readonly string[] = ["running", "paused", "arriving", "none"];

/** Whether `host:port` runs the guest with `uuid`; throws when it cannot say. */
export async function askDestination(destination: string, key: Buffer, uuid: string, timeoutMs = 10_000): Promise<RemoteState> {
  // The whole exchange within the deadline: a daemon asks this while it starts.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${destination}: no answer within ${timeoutMs / 1000} s`)), timeoutMs)));
  try {
    return await Promise.race([ask(destination, key, uuid, timeoutMs), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function ask(destination: string, key: Buffer, uuid: string, timeoutMs: number): Promise<RemoteState> {
  const at = destination.lastIndexOf(":");
  const host = destination.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  const port = Number(destination.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a host:port: ${destination}`);
  const channel = await openChannel(host, port, key);
  try {
    channel.send(Msg.HELLO, helloSxp());
    const hello = await channel.next(timeoutMs, "HELLO");
    const problem = helloProblem(hello);
    if (problem) throw new Error(problem);
    channel.send(Msg.QUERY, ["query", ["uuid", uuid]]);
    const answer = await channel.next(timeoutMs, "STATUS");
    if (answer.type !== Msg.STATUS) throw new Error(`expected STATUS, got ${msgName(answer.type)}`);
    const state = field(answer.body, "state") ?? "";
    if (!STATES.includes(state) || field(answer.body, "uuid") !== uuid) throw new Error("a STATUS that does not answer the question");
    return state as RemoteState;
  } catch (error) {
    throw new Error(`${destination}: ${errorMessage(error)}`);
  } finally {
    channel.close();
  }
}
