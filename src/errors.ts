/**
 * The one table of xvm error codes. Codes are stable: never renumber or reuse one. Each entry has
 * the message template (`{name}` placeholders), the HTTP status the control API answers with, and
 * the exit status a command uses when it reports the error.
 */
export const ERRORS = {
  // usage and generic
  XVM_USAGE: { status: 400, exit: 2, message: "{detail}" },
  XVM_INTERNAL: { status: 500, exit: 1, message: "internal error: {detail}" },
  XVM_NOT_IMPLEMENTED: { status: 501, exit: 1, message: "{what} is not implemented" },
  XVM_BAD_REQUEST: { status: 400, exit: 1, message: "{detail}" },
  BODY_TOO_LARGE: { status: 413, exit: 1, message: "request body too large: at most {max} bytes" },
  XVM_NOT_FOUND: { status: 404, exit: 1, message: "{detail}" },
  // repository
  REPO_CORRUPT: { status: 500, exit: 1, message: "repository {path} is damaged ({detail}).{restore}" },
  REPO_LOCKED: { status: 503, exit: 1, message: "repository {path} is locked by pid {pid}; timed out after {ms} ms" },
  REPO_IO: { status: 500, exit: 1, message: "repository {path}: {detail}" },
  // A command that only reads found no repository on this root (it creates none: svcadm or svccfg setprop do).
  REPO_MISSING: { status: 503, exit: 1, message: "Could not bind to repository server: no repository at {path} (`svcadm enable xend` or `svccfg -s xend setprop` creates one)." },
  // plugins
  PLUGIN_LOAD_FAILED: { status: 500, exit: 1, message: "plugin {name} ({path}) failed to load: {detail}" },
  PLUGIN_SETUP_FAILED: { status: 500, exit: 1, message: "plugin {name} ({path}) failed in setup: {detail}" },
  PLUGIN_PROPERTY_CONFLICT: { status: 500, exit: 1, message: "plugin {name} ({path}) declares config/{property}, already owned by plugin {owner}" },
  PLUGIN_UNTRUSTED: { status: 500, exit: 1, message: "plugin {name} ({path}) was not loaded: {detail}; a root daemon runs only code that root or its own user alone can change (chown root, chmod go-w)" },
  PLUGIN_INVALID: { status: 500, exit: 1, message: "plugin {name} ({path}) is not a valid plugin: {detail}" },
  PLUGIN_NAME_CONFLICT: { status: 500, exit: 1, message: "plugin {name} ({path}) has the same name as the plugin from {other}" },
  PLUGIN_REFRESH_FAILED: { status: 500, exit: 1, message: "plugin {name} ({path}) failed in refresh: {detail}; its previous configuration stays in force" },
  PLUGIN_HOOK_FAILED: { status: 500, exit: 1, message: "plugin {name} ({path}) failed in hook {hook}: {detail}" },
  CONFIG_INVALID: { status: 400, exit: 1, message: "config/{property}: {detail}" },
  // daemon
  DAEMON_RUNNING: { status: 409, exit: 1, message: "xend is already running for root {root} (pid {pid})" },
  DAEMON_NOT_RUNNING: { status: 503, exit: 1, message: "xend is not running for root {root} (no control socket at {socket}); try: svcadm enable xend" },
  DAEMON_NOT_ANSWERING: { status: 504, exit: 1, message: "xend is not answering on {socket} (no reply in {seconds} s; is it stopped? see svcs -p xend)" },
  DAEMON_WENT_AWAY: { status: 503, exit: 1, message: "xend went away{during}" },
  DAEMON_RESTARTING: { status: 503, exit: 1, message: "xend is restarting for root {root} (enabled, {state}) and did not answer within {seconds} s; see: svcs -xv xend" },
  RESTARTER_UNAVAILABLE: { status: 503, exit: 1, message: "Restarter for instance \"{fmri}\" is unavailable: {detail}" },
  LOG_UNWRITABLE: { status: 500, exit: 96, message: "cannot write log {path}: {detail}" },
  DAEMON_RUN_DIR: { status: 500, exit: 96, message: "cannot use {path}: {detail}" },
  HYPERVISOR_UNAVAILABLE: { status: 503, exit: 1, message: "hypervisor driver {name} is not available: {detail}" },
  // domains
  DOMAIN_NOT_FOUND: { status: 404, exit: 1, message: "Domain '{dom}' does not exist." },
  DOMAIN_EXISTS: { status: 409, exit: 1, message: "Domain '{name}' already exists with ID '{domid}'" },
  DOMAIN_BAD_STATE: { status: 409, exit: 1, message: "Domain '{dom}' is {state}; cannot {action}." },
  DOMAIN_CONFIG: { status: 400, exit: 1, message: "{detail}" },
  DOMAIN_PRIVILEGED: { status: 403, exit: 1, message: "Cannot {action} privileged domain {dom}" },
  NO_MEMORY: { status: 409, exit: 1, message: "{detail}" },
  NO_VCPUS: { status: 409, exit: 1, message: "{detail}" },
  DOMID_UNRECORDED: { status: 507, exit: 1, message: "cannot record the next domain id (so none is handed out, and none is ever reused): {detail}" },
  DOMAIN_NAME_TAKEN: { status: 409, exit: 1, message: "Domain name '{name}' is already used by the inactive managed domain {uuid}; start it with 'xm start {name}' or choose another name" },
  DOMAIN_UUID_TAKEN: { status: 409, exit: 1, message: "uuid {uuid} is already used by domain '{name}'" },
  XM_CONFIG_NOT_FOUND: { status: 404, exit: 1, message: "Unable to open config file: {file} (looked in {searched})" },
  // hypervisor driver (sim: one runner process per guest)
  HV_RUNNER_START: { status: 500, exit: 1, message: "domain {domid} ({name}): the guest runner did not start: {detail}" },
  HV_RUNNER_GONE: { status: 503, exit: 1, message: "domain {domid}: the guest runner went away ({detail})" },
  HV_RUNNER_TIMEOUT: { status: 504, exit: 1, message: "domain {domid}: the guest runner did not answer {cmd} within {ms} ms" },
  // hypervisor driver (qemu: one qemu-system-x86_64 per guest, QMP on a Unix socket)
  QEMU_START: { status: 500, exit: 1, message: "domain {domid} ({name}): QEMU did not start: {detail}" },
  QEMU_GONE: { status: 503, exit: 1, message: "domain {domid}: QEMU went away ({detail})" },
  QEMU_COMMAND: { status: 500, exit: 1, message: "domain {domid}: QEMU refused {cmd}: {detail}" },
  QEMU_UNSUPPORTED: { status: 409, exit: 1, message: "domain {domid}: {detail}" },
  // migration
  MIGRATE_FAILED: { status: 500, exit: 1, message: "migration of {dom} failed: {detail}" },
  MIGRATE_REFUSED: { status: 403, exit: 1, message: "{detail}" },
  // dumps
  DUMP_FAILED: { status: 500, exit: 1, message: "Failed to dump core: {detail}" },
  DUMP_BAD_FILE: { status: 400, exit: 1, message: "{path}: {detail}" },
  DUMP_IN_DIRECTORY: { status: 400, exit: 1, message: "Cannot dump core in a directory: {path}" },
  // save / restore (xm save, restore, suspend, resume)
  SAVE_FILE_BAD: { status: 400, exit: 1, message: "{path}: {detail}" },
  SAVE_FAILED: { status: 500, exit: 1, message: "Save failed on domain {dom}: {detail}" },
  RESTORE_FAILED: { status: 500, exit: 1, message: "Restore failed: {detail}" },
} as const satisfies Record<string, { status: number; exit: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class XvmError extends Error {
  readonly code: ErrorCode;
  readonly params: Record<string, string | number>;

  constructor(code: ErrorCode, params: Record<string, string | number> = {}, options?: { cause?: unknown }) {
    super(formatError(code, params), options);
    this.name = "XvmError";
    this.code = code;
    this.params = params;
  }

  get status(): number { return ERRORS[this.code].status; }
  get exitCode(): number { return ERRORS[this.code].exit; }

  toJSON(): { code: ErrorCode; message: string; params: Record<string, string | number> } {
    return { code: this.code, message: this.message, params: this.params };
  }
}

export function formatError(code: ErrorCode, params: Record<string, string | number>): string {
  return ERRORS[code].message.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : ""));
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
