/**
 * Text that came from outside (a peer's host name, a domain name in a migration request, a file
 * name in a request) is escaped before it reaches a log line or an error message: no newline or
 * other control character can start a forged line, and a long value is cut so that it cannot push
 * the history out of a rotating log.
 */

/** Characters that end or rewrite a line on a terminal or in a log reader. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `s` with control characters as `\n`, `\xNN` or `\uNNNN`, cut to `max` characters (with `…`). */
export function escapeText(s: string, max = 256): string {
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return cut.replace(UNSAFE, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
