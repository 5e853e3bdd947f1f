/**
 * Every file xvm touches lives under one state root. This module is the only place that knows
 * where: the rest of the code asks a {@link Paths} object.
 *
 * The root is `--root DIR`, else `$XVM_ROOT`, else `/` for root and a per-user state folder
 * (`$XDG_STATE_HOME/xvm`, else `~/.local/state/xvm`) for anyone else.
 */
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XVM_ROOT) return resolve(env.XVM_ROOT);
  const uid = typeof process.getuid === "function" ? process.getuid() : -1;
  if (uid === 0) return "/";
  const xdg = env.XDG_STATE_HOME;
  return xdg ? join(resolve(xdg), "xvm") : join(homedir(), ".local", "state", "xvm");
}

/**
 * The default of config/logfile, as the seed names it (under the root): the property declaration
 * (src/plugin/core-properties.ts) and {@link Paths.xendLog} both read it. (The dump directory's
 * default belongs to the enable-dump plugin's declaration.)
 */
export const DEFAULT_XEND_LOG = "/var/log/xen/xend.log";

export class Paths {
  readonly root: string;

  constructor(root: string = defaultRoot()) {
    this.root = resolve(root);
  }

  /** Maps an absolute path as the seed names it (`/var/xen/dump`) to its place under the root. */
  under(absolute: string): string {
    return join(this.root, absolute.replace(/^\/+/, ""));
  }

  get repository(): string { return this.under("/etc/svc/repository.db"); }
  get repositoryLock(): string { return this.under("/etc/svc/repository.db.lock"); }
  get svcLogDir(): string { return this.under("/var/svc/log"); }
  /** svc:/system/xvm/xend:default -> var/svc/log/system-xvm-xend:default.log (SMF's logstem rule). */
  serviceLog(fmri = "svc:/system/xvm/xend:default"): string {
    const stem = fmri.replace(/^svc:\/+/, "").replace(/\//g, "-");
    return join(this.svcLogDir, `${stem}.log`);
  }
  get restarterLog(): string { return join(this.svcLogDir, "svc.startd.log"); }
  get xenLogDir(): string { return this.under("/var/log/xen"); }
  /** xend.log where `config/logfile` has its default (the running value may differ). */
  get xendLog(): string { return this.under(DEFAULT_XEND_LOG); }
  get xendDebugLog(): string { return join(this.xenLogDir, "xend-debug.log"); }
  get xendLibDir(): string { return this.under("/var/lib/xend"); }
  get domainsDir(): string { return this.under("/var/lib/xend/domains"); }
  get runDir(): string { return this.under("/var/run/xend"); }
  /** The daemon's control API (HTTP+JSON over a Unix socket). */
  get controlSocket(): string { return join(this.runDir, "control.sock"); }
  get pidFile(): string { return join(this.runDir, "xend.pid"); }
  /** Who runs the daemon: `restarter`, `systemd` or `none` (by hand); svcs reads it. */
  get managerFile(): string { return join(this.runDir, "xend.manager"); }
  get daemonLock(): string { return join(this.runDir, "xend.lock"); }
  /** One folder per running guest: runner socket, pid, spec. */
  get runnersDir(): string { return join(this.runDir, "domains"); }
  get restarterDir(): string { return this.under("/var/run/svc"); }
  get restarterSocket(): string { return join(this.restarterDir, "restarter.sock"); }
  get restarterPidFile(): string { return join(this.restarterDir, "restarter.pid"); }
  get etcXen(): string { return this.under("/etc/xen"); }
}
