/** What a restarter puts in the environment of the daemon it starts. */

/** Set to "1": the daemon watches its restarter and starts another if it is killed (src/daemon/restarter-watch.ts). */
export const SUPERVISED_ENV = "XVM_SUPERVISED";

/** The service log's path, for the daemon's own output (src/daemon/log.ts captureStdio). */
export const SERVICE_LOG_ENV = "XVM_SERVICE_LOG";
