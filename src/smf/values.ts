/**
 * SMF property types and the value syntax libscf accepts for each (scf_value_set_from_string):
 * integers go through strtoll/strtoull with base 0, so "0x10" and "010" are valid and are stored
 * normalised to decimal; booleans are exactly true/t/1/false/f/0.
 */
import { escapeText } from "../security/log-escape.ts";

export const SMF_TYPES = [
  "boolean", "count", "integer", "time", "astring", "ustring", "opaque", "uri", "fmri",
  "host", "hostname", "net_address", "net_address_v4", "net_address_v6",
] as const;

export type SmfType = (typeof SMF_TYPES)[number];

export function isSmfType(word: string): word is SmfType {
  return (SMF_TYPES as readonly string[]).includes(word);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MOD = 2n ** 64n;
const MAX_VALUE_LEN = 4096;

/** C strtoll/strtoull with base 0, requiring the whole string to be consumed. */
function strtoBig(text: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) return undefined;
  const digits = m[2]!;
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith("0")) v = BigInt(`0o${digits.slice(1)}`);
  else v = BigInt(digits);
  return m[1] === "-" ? -v : v;
}

/** Returns the stored (normalised) form of `text` for `type`, or undefined if libscf would reject it. */
export function normaliseValue(type: SmfType, text: string): string | undefined {
  switch (type) {
    case "boolean":
      if (text === "true" || text === "t" || text === "1") return "true";
      if (text === "false" || text === "f" || text === "0") return "false";
      return undefined;
    case "integer": {
      const v = strtoBig(text);
      if (v === undefined || v < INT64_MIN || v > INT64_MAX) return undefined;
      return v.toString();
    }
    case "count": {
      const v = strtoBig(text);
      if (v === undefined) return undefined;
      // strtoull reports ERANGE on the magnitude, then negates a leading '-' modulo 2^64, as C does.
      const magnitude = v < 0n ? -v : v;
      if (magnitude >= UINT64_MOD) return undefined;
      return (v < 0n && magnitude !== 0n ? UINT64_MOD - magnitude : magnitude).toString();
    }
    case "time": {
      const m = /^([+-]?[0-9]+)(?:\.([0-9]{1,9}))?$/.exec(text);
      if (!m) return undefined;
      const sec = BigInt(m[1]!);
      if (sec < INT64_MIN || sec > INT64_MAX) return undefined;
      return m[2] === undefined ? sec.toString() : `${sec}.${m[2].padEnd(9, "0")}`;
    }
    case "astring":
      return Buffer.byteLength(text) < MAX_VALUE_LEN ? text : undefined;
    case "ustring":
    case "host":
    case "hostname":
    case "net_address":
      return Buffer.byteLength(text) < MAX_VALUE_LEN && isUtf8(text) ? text : undefined;
    case "net_address_v4":
      return /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(text) ? text : undefined;
    case "net_address_v6":
      return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(":") ? text : undefined;
    case "opaque":
      return /^([0-9a-fA-F]{2})*$/.test(text) ? text.toLowerCase() : undefined;
    case "uri":
      // RFC 2396 appendix B's regex, whose path part scf_type.c's valid_uri insists is non-empty.
      return /^(([^:/?#]+):)?(\/\/([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?$/.exec(text)?.[5] ? text : undefined;
    case "fmri":
      return /^(svc:\/?[A-Za-z][\w.,/-]*(:[A-Za-z][\w.,-]*)?(\/:properties\/[\w.,-]+(\/[\w.,-]+)?)?|file:\/\/[^\s]*)$/.test(text)
        ? text
        : undefined;
  }
}

function isUtf8(text: string): boolean {
  // JS strings are UTF-16; lone surrogates are what would not encode as UTF-8.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** SMF's message for a value the type rejects. */
export function invalidValueMessage(type: SmfType, text: string): string {
  return `Invalid "${type}" value "${escapeText(text, 80)}".`;
}

/** Typed value as the daemon reads it (booleans and numbers as JS values). */
export function typedValue(type: SmfType, stored: string): boolean | number | string {
  if (type === "boolean") return stored === "true";
  if (type === "integer" || type === "count") return Number(stored);
  return stored;
}

/** The stored string for a JS value declared with `type`. */
export function storedValue(type: SmfType, value: boolean | number | string): string {
  if (type === "boolean") return value ? "true" : "false";
  return String(value);
}
