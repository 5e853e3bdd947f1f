/**
 * Serving a fetch handler (a Hono app) on a Unix socket or TCP port, on Node, Bun or Deno: the one
 * place that knows how each runtime does it.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import type { ServeOptions, ServerHandle } from "../server-handle.ts";
import { runtimeName } from "./self.ts";

export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Resolves true if something accepts connections on the Unix socket `path`. */
export function socketAnswers(path: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    // node:net on first use: svccfg and svcadm carry this check and rarely call it.
    const s = process.getBuiltinModule("node:net").createConnection({ path });
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** Removes a socket file nobody listens on (left by a crash); refuses to steal a live one. */
export async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const st = lstatSync(path);
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket`);
  if (await socketAnswers(path)) throw Object.assign(new Error(`${path} is in use by another server`), { code: "EADDRINUSE" });
  unlinkSync(path);
}

interface BunServer { stop(force?: boolean): void | Promise<void>; port?: number; hostname?: string }
interface BunLike { serve(options: Record<string, unknown>): BunServer }
interface DenoServer { shutdown(): Promise<void>; addr: { hostname?: string; port?: number } }
interface DenoLike { serve(options: Record<string, unknown>, handler: FetchHandler): DenoServer }

export async function serve(options: ServeOptions, fetch: FetchHandler): Promise<ServerHandle> {
  if (options.unix) {
    mkdirSync(dirname(options.unix), { recursive: true });
    await clearStaleSocket(options.unix);
  }
  const handle = await start(options, fetch);
  if (options.unix && options.mode !== undefined) chmodSync(options.unix, options.mode);
  return handle;
}

async function start(options: ServeOptions, fetch: FetchHandler): Promise<ServerHandle> {
  const g = globalThis as { Bun?: BunLike; Deno?: DenoLike };
  if (runtimeName === "bun" && g.Bun) {
    const server = options.unix
      ? g.Bun.serve({ unix: options.unix, fetch })
      : g.Bun.serve({ hostname: options.hostname || "0.0.0.0", port: options.port ?? 0, fetch });
    const address = options.unix ?? `${server.hostname}:${server.port}`;
    return {
      address,
      async close() {
        await server.stop(true);
        if (options.unix && existsSync(options.unix)) unlinkSync(options.unix);
      },
    };
  }
  if (runtimeName === "deno" && g.Deno) {
    const server = options.unix
      ? g.Deno.serve({ path: options.unix, onListen() {} }, fetch)
      : g.Deno.serve({ hostname: options.hostname || "0.0.0.0", port: options.port ?? 0, onListen() {} }, fetch);
    const address = options.unix ?? `${server.addr.hostname}:${server.addr.port}`;
    return {
      address,
      async close() {
        await server.shutdown();
        if (options.unix && existsSync(options.unix)) unlinkSync(options.unix);
      },
    };
  }
  const { createAdaptorServer } = await import("@hono/node-server");
  // HTTP/1.0 clients may send no Host; the adapter would answer them 400 without a default.
  const server = createAdaptorServer({ fetch, hostname: "localhost" });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    if (options.unix) server.listen(options.unix, () => resolve());
    else server.listen(options.port ?? 0, options.hostname || undefined, () => resolve());
  });
  const addr = server.address();
  const address = options.unix ?? (typeof addr === "object" && addr ? `${addr.address}:${addr.port}` : String(addr));
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        // Idle keep-alive connections would hold close() open forever.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
