/**
 * The host name xend matched hosts-allow against: Python's `socket.getfqdn(ip)` — the reverse
 * lookup's canonical name and aliases, the first of them containing a dot, else the canonical
 * name; the address itself when the lookup fails.
 *
 * glibc's gethostbyaddr reads /etc/hosts first (the first line with the address gives the
 * canonical name and its aliases), then DNS. Node's `dns.lookupService` (getnameinfo) gives the
 * name but not the aliases, so /etc/hosts is read here directly and the resolver asked only for
 * addresses it does not list. A lookup that takes longer than `timeoutMs` counts as failed, so a
 * dead DNS server cannot hold a connection (xend would have waited).
 */
import { lookupService } from "node:dns/promises";
import { readFileSync } from "node:fs";

const DEFAULT_TIMEOUT_MS = 3_000;

/** Canonical name and aliases of `address` in a hosts file's text, if it lists it. */
export function hostsFileNames(text: string, address: string): string[] | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [ip, ...names] = line.split(/\s+/);
    if (ip === address && names.length > 0) return names;
  }
  return undefined;
}

/** Python's getfqdn choice among a canonical name and its aliases. */
export function pickFqdn(names: readonly string[]): string {
  return names.find((n) => n.includes(".")) ?? names[0]!;
}

export async function getfqdn(address: string, options: { hostsFile?: string; timeoutMs?: number } = {}): Promise<string> {
  let text = "";
  try {
    text = readFileSync(options.hostsFile ?? "/etc/hosts", "utf8");
  } catch {
    // no hosts file: the resolver alone
  }
  const listed = hostsFileNames(text, address);
  if (listed) return pickFqdn(listed);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = await Promise.race([
      lookupService(address, 0),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("timeout")), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      }),
    ]);
    return answer.hostname ? pickFqdn([answer.hostname]) : address;
  } catch {
    return address;
  } finally {
    clearTimeout(timer);
  }
}
