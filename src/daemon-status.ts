/**
 * What `GET /status` answers (the control API's StatusSchema checks it) and what the restarter,
 * `xend status` and `svcs` read. One definition; a leaf module, so the daemon, the restarter and
 * the commands share it without importing each other.
 */
export interface DaemonStatus {
  pid: number;
  /** The state root every path is under. */
  root: string;
  state: "online" | "degraded";
  /** Why the daemon is degraded (empty when online). */
  reasons: string[];
  /** ISO 8601 time the daemon started. */
  startedAt: string;
  version: string;
  /** JavaScript runtime and its version, e.g. `bun 1.4.5`. */
  runtime: string;
}
