/**
 * `config/xend-relocation-hosts-allow`, as xend's `hostAllowed` (xen/web/connection.py) read it:
 * a list of regular expressions; a peer may connect if any of them matches, at the start of the
 * string (Python's `re.match`: anchored at the start only, not at the end), either its host name
 * (reverse lookup, see fqdn.ts) or its IP address string. An empty list allows every peer.
 *
 * One deliberate difference: xend split the value on single spaces, so two adjacent spaces made an
 * empty pattern, which matches every host — a typo that silently opened the relocation server to
 * the world. Here any run of white space separates two patterns and empty patterns do not exist;
 * `emptyPatterns` tells the caller such a value was given, so it can warn about it.
 *
 * Patterns are JavaScript regular expressions, which agree with Python's for what host patterns
 * use (anchors, classes, escapes, alternation, repetition).
 */

export interface HostsAllow {
  /** The patterns as written (empty when every peer is allowed). */
  readonly patterns: readonly string[];
  readonly regexes: readonly RegExp[];
  /** The value had adjacent separators (xend would have allowed every host). */
  readonly emptyPatterns: boolean;
}

/** Parses the property; throws an Error naming the first pattern that is not a valid regex. */
export function parseHostsAllow(value: string): HostsAllow {
  const patterns = value.split(/\s+/).filter((p) => p !== "");
  const emptyPatterns = value !== "" && value.split(" ").includes("");
  const regexes = patterns.map((p) => {
    try {
      // `^(?:…)` is re.match: anchored at the start, free at the end.
      return new RegExp(`^(?:${p})`);
    } catch (error) {
      throw new Error(`'${p}' is not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`);
    }
  });
  return { patterns, regexes, emptyPatterns };
}

/** The declaration's check: a message for a value that cannot be used, else undefined. */
export function checkHostsAllow(value: string): string | undefined {
  try {
    parseHostsAllow(value);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** xend's rule: allowed if the list is empty, or a pattern matches the name or the address. */
export function hostAllowed(allow: HostsAllow, address: string, name: string): boolean {
  if (allow.regexes.length === 0) return true;
  return allow.regexes.some((re) => re.test(name) || re.test(address));
}
