/**
 * Every long-running process of xvm (xend, the restarter, a guest's runner) sets its umask to 022
 * when it starts, whatever its caller's was: the files and folders it creates under the state root
 * (logs, pid files, sockets' folders, dumps, managed configs) are never group- or world-writable,
 * even when started from a shell with `umask 000`. Files holding secrets are created 0600
 * explicitly (src/security/key-file.ts), which a umask can only keep as is.
 */
export const DAEMON_UMASK = 0o022;

export function setDaemonUmask(): void {
  process.umask(DAEMON_UMASK);
}
