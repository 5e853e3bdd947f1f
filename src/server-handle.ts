/** What serving a fetch handler takes and gives back (src/runtime/serve.ts). A leaf module. */
export interface ServeOptions {
  /** A Unix socket path, or a TCP host/port. */
  unix?: string;
  hostname?: string;
  port?: number;
  /** Socket file mode when serving on a Unix socket. */
  mode?: number;
}

export interface ServerHandle {
  readonly address: string;
  close(): Promise<void>;
}
