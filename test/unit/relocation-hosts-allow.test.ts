/**
 * xend-relocation-hosts-allow as xend's hostAllowed read it (re.match against the getfqdn name
 * and the address), the adjacent-spaces choice, and the getfqdn emulation's parts.
 */
import { describe, expect, it } from "vitest";
import { checkHostsAllow, hostAllowed, parseHostsAllow } from "../../plugins/relocation/hosts-allow.ts";
import { hostsFileNames, pickFqdn } from "../../plugins/relocation/fqdn.ts";

const allowed = (value: string, address: string, name: string) => hostAllowed(parseHostsAllow(value), address, name);

describe("hosts-allow", () => {
  it("allows every peer when the list is empty (or only white space)", () => {
    expect(allowed("", "10.0.0.9", "evil.example")).toBe(true);
    expect(allowed("   ", "10.0.0.9", "evil.example")).toBe(true);
    expect(parseHostsAllow("").patterns).toEqual([]);
  });

  it("matches the name or the address, anchored at the start only (re.match)", () => {
    const v = "^localhost$ ^flax$";
    expect(allowed(v, "127.0.0.1", "localhost")).toBe(true);
    expect(allowed(v, "10.1.1.1", "flax")).toBe(true);
    expect(allowed(v, "127.0.0.2", "127.0.0.2")).toBe(false);
    expect(allowed(v, "10.1.1.1", "flax.example.com")).toBe(false);
    // No `^`: still anchored at the start, free at the end, as re.match is.
    expect(allowed("flax", "10.1.1.1", "flax.example.com")).toBe(true);
    expect(allowed("lax", "10.1.1.1", "flax")).toBe(false);
    expect(allowed("10\\.0\\.", "10.0.3.4", "unknown")).toBe(true);
    expect(allowed("10\\.0\\.", "110.0.3.4", "110.0.3.4")).toBe(false);
    // An unescaped dot is any character, as in xend's regexes.
    expect(allowed("^127.0.0.2$", "127.0.0.2", "127.0.0.2")).toBe(true);
  });

  it("reads adjacent spaces as one separator, never as a match-all empty pattern, and says so", () => {
    const p = parseHostsAllow("^localhost$  ^flax$");
    expect(p.patterns).toEqual(["^localhost$", "^flax$"]);
    expect(p.emptyPatterns).toBe(true);
    expect(hostAllowed(p, "10.9.9.9", "other")).toBe(false);
    expect(parseHostsAllow("^a$ ").emptyPatterns).toBe(true);
    expect(parseHostsAllow("^a$ ^b$").emptyPatterns).toBe(false);
    expect(parseHostsAllow("^a$\t^b$").patterns).toEqual(["^a$", "^b$"]);
  });

  it("refuses a value with an invalid regular expression, naming the pattern", () => {
    expect(checkHostsAllow("^ok$ (unclosed")).toMatch(/^'\(unclosed' is not a valid regular expression: /);
    expect(checkHostsAllow("^localhost$ ^localhost\\.localdomain$")).toBeUndefined();
    expect(() => parseHostsAllow("[z-a]")).toThrow("'[z-a]' is not a valid regular expression");
  });
});

describe("getfqdn emulation", () => {
  const hosts = "# comment\n127.0.0.1\tlocalhost\n127.0.0.1 other\n10.0.0.2 flax flax.example.com  # trailing\n::1 localhost6\n";

  it("takes the first hosts-file line with the address: canonical name, then aliases", () => {
    expect(hostsFileNames(hosts, "127.0.0.1")).toEqual(["localhost"]);
    expect(hostsFileNames(hosts, "10.0.0.2")).toEqual(["flax", "flax.example.com"]);
    expect(hostsFileNames(hosts, "10.0.0.3")).toBeUndefined();
  });

  it("prefers the first name with a dot, else the canonical name (socket.getfqdn)", () => {
    expect(pickFqdn(["flax", "flax.example.com"])).toBe("flax.example.com");
    expect(pickFqdn(["localhost"])).toBe("localhost");
    expect(pickFqdn(["localhost", "localhost.localdomain"])).toBe("localhost.localdomain");
  });
});
