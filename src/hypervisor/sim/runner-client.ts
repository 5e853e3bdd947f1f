/**
 * The driver's end of a runner socket: one {@link Link} per guest, requests with ids answered in
 * any order (several in flight), progress frames, pushed events, and a timeout per request. What a
 * link's events and its closing mean for the guest is the driver's business (driver.ts).
 */
import { createConnection, type Socket } from "node:net";
import { XvmError } from "../../errors.ts";
import { encodeFrame, readFrames } from "./framing.ts";
import type { ErrorBody, EventHeader, ResponseHeader } from "./protocol.ts";

export interface CallOptions {
  payload?: Uint8Array;
  onProgress?: (progress: Record<string, unknown>) => void;
  /** Default 60 s; 0 = no limit (dumps, migration streams). */
  timeoutMs?: number;
}

export interface CallResult {
  result: unknown;
  payload: Uint8Array;
}

interface Pending {
  cmd: string;
  resolve(value: CallResult): void;
  reject(error: Error): void;
  onProgress?: (progress: Record<string, unknown>) => void;
  timer?: ReturnType<typeof setTimeout>;
}

export interface Link {
  domid: number;
  pid: number;
  socket: Socket;
  pending: Map<number, Pending>;
  nextId: number;
  closed: boolean;
  /** Set when this driver ends the runner (destroy): its going away is no loss. */
  ending: boolean;
}

export interface LinkHandlers {
  /** A pushed event (console output, a life-cycle event with its seq). */
  onEvent(link: Link, header: EventHeader): void;
  /** The connection closed; every request in flight has already failed HV_RUNNER_GONE. */
  onClose(link: Link): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;

function toError(body: ErrorBody): XvmError {
  return new XvmError(body.code, body.params);
}

export function connectSocket(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    const fail = (error: Error) => {
      socket.destroy();
      reject(error);
    };
    socket.once("error", fail);
    socket.setTimeout(5_000, () => fail(new Error("connect timed out")));
    socket.once("connect", () => {
      socket.setTimeout(0);
      socket.off("error", fail);
      resolve(socket);
    });
  });
}

/** Wraps a connected socket into a link: frames are read and dispatched from now on. */
export function openLink(domid: number, pid: number, socket: Socket, handlers: LinkHandlers): Link {
  const link: Link = { domid, pid, socket, pending: new Map(), nextId: 1, closed: false, ending: false };
  socket.on("error", () => {});
  socket.on("close", () => {
    link.closed = true;
    failPending(link);
    handlers.onClose(link);
  });
  readFrames(socket, (frame) => onFrame(link, frame.header, frame.payload, handlers));
  return link;
}

function onFrame(link: Link, header: Record<string, unknown>, payload: Uint8Array, handlers: LinkHandlers): void {
  if ("event" in header) return handlers.onEvent(link, header as unknown as EventHeader);
  const id = header.id as number;
  const pending = link.pending.get(id);
  if (!pending) return;
  if ("progress" in header) return pending.onProgress?.(header.progress as Record<string, unknown>);
  link.pending.delete(id);
  clearTimeout(pending.timer);
  const response = header as unknown as ResponseHeader;
  if (response.ok) pending.resolve({ result: response.result, payload });
  else pending.reject(toError(response.error));
}

function failPending(link: Link): void {
  const detail = `connection to runner pid ${link.pid} closed`;
  for (const p of link.pending.values()) {
    clearTimeout(p.timer);
    p.reject(new XvmError("HV_RUNNER_GONE", { domid: link.domid, detail }));
  }
  link.pending.clear();
}

export function request(link: Link, cmd: string, args: Record<string, unknown>, options: CallOptions): Promise<CallResult> {
  if (link.closed) return Promise.reject(new XvmError("HV_RUNNER_GONE", { domid: link.domid, detail: "connection closed" }));
  const id = link.nextId++;
  return new Promise<CallResult>((resolve, reject) => {
    const pending: Pending = { cmd, resolve, reject, onProgress: options.onProgress };
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (timeoutMs > 0) {
      pending.timer = setTimeout(() => {
        link.pending.delete(id);
        reject(new XvmError("HV_RUNNER_TIMEOUT", { domid: link.domid, cmd, ms: timeoutMs }));
      }, timeoutMs);
    }
    link.pending.set(id, pending);
    link.socket.write(encodeFrame({ id, cmd, args }, options.payload));
  });
}
