import { describe, expect, it } from "vitest";
import { SMF_TYPES, invalidValueMessage, isSmfType, normaliseValue, storedValue, typedValue } from "../../src/smf/values.ts";

describe("boolean values (exactly true/t/1, false/f/0)", () => {
  it("accepts the six spellings and stores true/false", () => {
    for (const t of ["true", "t", "1"]) expect(normaliseValue("boolean", t)).toBe("true");
    for (const f of ["false", "f", "0"]) expect(normaliseValue("boolean", f)).toBe("false");
  });
  it("rejects anything else, case included", () => {
    for (const v of ["yes", "no", "TRUE", "True", "T", "", " true", "true ", "2", "on"]) {
      expect(normaliseValue("boolean", v)).toBeUndefined();
    }
  });
});

describe("integer values (strtoll, base 0, whole string)", () => {
  const ok: Array<[string, string]> = [
    ["0", "0"], ["42", "42"], ["-42", "-42"], ["+42", "42"], ["0x10", "16"], ["0X1f", "31"], ["-0x10", "-16"],
    ["010", "8"], ["-010", "-8"], ["00", "0"], [" 12", "12"], ["\t\n\v\f\r7", "7"],
    ["9223372036854775807", "9223372036854775807"], ["-9223372036854775808", "-9223372036854775808"],
    ["0x7fffffffffffffff", "9223372036854775807"],
  ];
  for (const [input, stored] of ok) {
    it(`accepts ${JSON.stringify(input)} as ${stored}`, () => expect(normaliseValue("integer", input)).toBe(stored));
  }
  const bad = [
    "", " ", "abc", "12abc", "12 ", "1.5", "1e3", "08", "09", "0x", "0xg", "- 5", "--5", "+-5", "+", "-",
    "9223372036854775808", "-9223372036854775809", "0x8000000000000000", "99999999999999999999999",
  ];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => expect(normaliseValue("integer", input)).toBeUndefined());
  }
});

describe("count values (strtoull: '-' wraps modulo 2^64, overflow of the magnitude is ERANGE)", () => {
  const ok: Array<[string, string]> = [
    ["0", "0"], ["60", "60"], ["0x10", "16"], ["010", "8"], ["+3", "3"], [" 3", "3"], ["-0", "0"],
    ["-1", "18446744073709551615"], ["-18446744073709551615", "1"],
    ["18446744073709551615", "18446744073709551615"], ["0xffffffffffffffff", "18446744073709551615"],
  ];
  for (const [input, stored] of ok) {
    it(`accepts ${JSON.stringify(input)} as ${stored}`, () => expect(normaliseValue("count", input)).toBe(stored));
  }
  for (const input of ["", "abc", "1.0", "18446744073709551616", "-18446744073709551616", "-18446744073709551617", "0x10000000000000000", "08"]) {
    it(`rejects ${JSON.stringify(input)}`, () => expect(normaliseValue("count", input)).toBeUndefined());
  }
});

describe("time values (seconds, optional 1-9 digit fraction, stored with 9 digits)", () => {
  it("normalises", () => {
    expect(normaliseValue("time", "5")).toBe("5");
    expect(normaliseValue("time", "5.5")).toBe("5.500000000");
    expect(normaliseValue("time", "-3.000000001")).toBe("-3.000000001");
    expect(normaliseValue("time", "1795662022.823000000")).toBe("1795662022.823000000");
  });
  it("rejects", () => {
    for (const v of ["", "5.", ".5", "5.1234567890", "abc", "0x10", "9223372036854775808"]) expect(normaliseValue("time", v)).toBeUndefined();
  });
});

describe("string-like values", () => {
  it("astring takes anything shorter than 4096 bytes, the empty string included", () => {
    expect(normaliseValue("astring", "")).toBe("");
    expect(normaliseValue("astring", "^flax$ ^localhost$")).toBe("^flax$ ^localhost$");
    expect(normaliseValue("astring", "x".repeat(4095))).toBe("x".repeat(4095));
    expect(normaliseValue("astring", "x".repeat(4096))).toBeUndefined();
    // Bytes, not characters: 2048 two-byte characters are 4096 bytes.
    expect(normaliseValue("astring", "é".repeat(2048))).toBeUndefined();
  });
  it("ustring and the host types need valid UTF-8", () => {
    expect(normaliseValue("ustring", "xVM control daemon")).toBe("xVM control daemon");
    expect(normaliseValue("ustring", "bad\uD800")).toBeUndefined();
    expect(normaliseValue("host", "flax")).toBe("flax");
    expect(normaliseValue("hostname", "flax.example.com")).toBe("flax.example.com");
    expect(normaliseValue("net_address", "10.0.0.1")).toBe("10.0.0.1");
  });
  it("net_address_v4 and _v6 check the address shape", () => {
    expect(normaliseValue("net_address_v4", "192.168.1.254")).toBe("192.168.1.254");
    for (const v of ["256.1.1.1", "1.2.3", "a.b.c.d", ""]) expect(normaliseValue("net_address_v4", v)).toBeUndefined();
    expect(normaliseValue("net_address_v6", "fe80::1")).toBe("fe80::1");
    expect(normaliseValue("net_address_v6", "1.2.3.4")).toBeUndefined();
  });
  it("opaque is even-length hex, stored in lower case", () => {
    expect(normaliseValue("opaque", "DEADbeef")).toBe("deadbeef");
    expect(normaliseValue("opaque", "")).toBe("");
    expect(normaliseValue("opaque", "abc")).toBeUndefined();
    expect(normaliseValue("opaque", "zz")).toBeUndefined();
  });
  it("uri needs a non-empty path; fmri must parse", () => {
    expect(normaliseValue("uri", "http://host/path")).toBe("http://host/path");
    expect(normaliseValue("uri", "http://host")).toBeUndefined();
    expect(normaliseValue("fmri", "svc:/system/xvm/xend:default")).toBe("svc:/system/xvm/xend:default");
    expect(normaliseValue("fmri", "file://localhost/etc/hosts")).toBe("file://localhost/etc/hosts");
    expect(normaliseValue("fmri", "not an fmri")).toBeUndefined();
  });
});

describe("type names and messages", () => {
  it("knows every SMF type name and nothing else", () => {
    expect(SMF_TYPES).toEqual([
      "boolean", "count", "integer", "time", "astring", "ustring", "opaque", "uri", "fmri",
      "host", "hostname", "net_address", "net_address_v4", "net_address_v6",
    ]);
    expect(isSmfType("integer")).toBe(true);
    expect(isSmfType("int")).toBe(false);
    expect(isSmfType("string")).toBe(false);
  });
  it("formats SMF's invalid value message", () => {
    expect(invalidValueMessage("integer", "abc")).toBe('Invalid "integer" value "abc".');
  });
  it("converts between stored and typed values", () => {
    expect(typedValue("boolean", "true")).toBe(true);
    expect(typedValue("integer", "-8")).toBe(-8);
    expect(typedValue("astring", "x")).toBe("x");
    expect(storedValue("boolean", false)).toBe("false");
    expect(storedValue("integer", 196)).toBe("196");
  });
});
