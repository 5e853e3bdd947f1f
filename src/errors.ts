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
  DOMAIN_UNRESPONSIVE: { status: 409, exit: 1, message: "Domain {dom} did not {action} within {seconds} seconds: the guest ignores the request (it is still running)" },
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

export interface ErrorDefinition {
  /** HTTP status the control API answers with. */
  status: number;
  /** Exit status of a command that reports it (1 unless given). */
  exit?: number;
  /** Message template with `{name}` placeholders. */
  message: string;
}

/** A code a plugin declared (see {@link defineErrors}); it joins the table above at run time. */
export type PluginErrorCode = string & { readonly __pluginErrorCode: true };

const pluginErrors = new Map<string, Required<ErrorDefinition> & { owner: string }>();

/** The table entry of a code: the core's, or one a plugin declared. */
export function errorDefinition(code: string): Required<ErrorDefinition> | undefined {
  return Object.hasOwn(ERRORS, code) ? ERRORS[code as ErrorCode] : pluginErrors.get(code);
}

/** Codes are SCREAMING_SNAKE_CASE, like the core's. */
const CODE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

/**
 * Declares a plugin's own error codes, Fastify-style (fastify-error's `createError`): each code
 * joins the one error table (status, exit status, message template) and comes back as a function
 * that makes the XvmError. A code the core or another plugin already declared differently is
 * refused (the same declaration again, as on a second load, is fine).
 *
 *   const errors = defineErrors("hello", { HELLO_NO_GREETING: { status: 404, message: "no greeting for {dom}" } });
 *   throw errors.HELLO_NO_GREETING({ dom: "web1" });
 */
export function defineErrors<const T extends Record<string, ErrorDefinition>>(
  owner: string,
  table: T,
): { readonly [K in keyof T]: (params?: Record<string, string | number>, options?: { cause?: unknown }) => XvmError } {
  const out: Record<string, (params?: Record<string, string | number>, options?: { cause?: unknown }) => XvmError> = {};
  for (const [code, def] of Object.entries(table)) {
    if (!CODE.test(code)) throw new Error(`error code ${code} of ${owner}: use upper case words joined by '_' (e.g. ${owner.toUpperCase().replace(/[^A-Z0-9]+/g, "_")}_FAILED)`);
    const entry = { status: def.status, exit: def.exit ?? 1, message: def.message, owner };
    const known = Object.hasOwn(ERRORS, code) ? { ...ERRORS[code as ErrorCode], owner: "xvm" } : pluginErrors.get(code);
    if (known && (known.owner !== owner || known.status !== entry.status || known.exit !== entry.exit || known.message !== entry.message)) {
      throw new Error(`error code ${code} of ${owner} is already declared by ${known.owner}`);
    }
    pluginErrors.set(code, entry);
    out[code] = (params = {}, options) => new XvmError(code as PluginErrorCode, params, options);
  }
  return out as { readonly [K in keyof T]: (params?: Record<string, string | number>, options?: { cause?: unknown }) => XvmError };
}

export class XvmError extends Error {
  readonly code: ErrorCode | PluginErrorCode;
  readonly params: Record<string, string | number>;

  constructor(code: ErrorCode | PluginErrorCode, params: Record<string, string | number> = {}, options?: { cause?: unknown }) {
    super(formatError(code, params), options);
    this.name = "XvmError";
    this.code = code;
    this.params = params;
  }

  get status(): number { return errorDefinition(this.code)?.status ?? 500; }
  get exitCode(): number { return errorDefinition(this.code)?.exit ?? 1; }

  toJSON(): { code: ErrorCode | PluginErrorCode; message: string; params: Record<string, string | number> } {
    return { code: this.code, message: this.message, params: this.params };
  }
}

export function formatError(code: ErrorCode | PluginErrorCode, params: Record<string, string | number>): string {
  const template = errorDefinition(code)?.message ?? `${code}: {detail}`;
  const text = template.replace(/\{(\w+)\}/g, (_, k: string) => (k in params ? String(params[k]) : ""));
  // An action named for "Cannot {action} privileged domain 0" ends in a preposition ("set memory
  // of"); where the domain is not named after it, the sentence needs its object.
  return template.endsWith("{action}.") ? text.replace(/ (of|to|from|into)\.$/, " $1 it.") : text;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
