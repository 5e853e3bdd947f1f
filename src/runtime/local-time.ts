/**
 * Local time read the way C's localtime() reads it: from the zone file named by TZ (or
 * /etc/localtime), its transitions and, past the last one, its POSIX TZ rule (RFC 8536).
 *
 * Why not Date's getHours()? On Bun the first local-time call initialises ICU's time zone support,
 * about 11 ms of CPU — more than the whole hello-world binary the start-up bench compares against
 * (docs/architecture.md, "Start-up"), and svcs prints local times on every line. Whatever this
 * reader cannot read (no zone file, a TZ it does not understand) falls back to Date, so the answer
 * is never worse than before.
 */
import { readFileSync } from "node:fs";

/** Seconds east of UTC in force at `seconds` (Unix time). */
type Zone = (seconds: number) => number;

interface Rule {
  stdOff: number;
  dstOff?: number;
  start?: RuleDate;
  end?: RuleDate;
}
type RuleDate = { kind: "M"; month: number; week: number; day: number; time: number } | { kind: "J" | "n"; day: number; time: number };

let cached: { tz: string | undefined; zone: Zone | null } | undefined;

/** A Date whose UTC fields (getUTCHours, …) are the local time of `ms`. */
export function localFields(ms: number): Date {
  return new Date(ms + localOffsetSeconds(ms) * 1000);
}

export function localOffsetSeconds(ms: number): number {
  const tz = process.env.TZ;
  if (!cached || cached.tz !== tz) cached = { tz, zone: loadZone(tz) };
  if (cached.zone) return cached.zone(Math.floor(ms / 1000));
  return -new Date(ms).getTimezoneOffset() * 60;
}

/** The zone of a TZ value as glibc resolves it; null when only Date can tell. */
export function loadZone(tz: string | undefined, zoneDir = process.env.TZDIR || "/usr/share/zoneinfo"): Zone | null {
  try {
    if (tz === "") return () => 0;
    const spec = tz === undefined ? "/etc/localtime" : tz.startsWith(":") ? tz.slice(1) : tz;
    let bytes: Uint8Array | undefined;
    if (!spec.includes("..")) {
      try {
        bytes = readFileSync(spec.startsWith("/") ? spec : `${zoneDir}/${spec}`);
      } catch {
        bytes = undefined;
      }
    }
    if (bytes) return parseTzif(bytes);
    if (tz === undefined || tz.startsWith(":")) return null;
    const rule = parseRule(tz);
    return rule ? (t) => ruleOffset(rule, t) : null;
  } catch {
    return null;
  }
}

/** A TZif file (versions 1 to 4); null if it is not one. */
export function parseTzif(bytes: Uint8Array): Zone | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "TZif") return null;
  const version = bytes[4]!;
  const counts = (at: number) => ({
    isut: view.getUint32(at + 20),
    isstd: view.getUint32(at + 24),
    leap: view.getUint32(at + 28),
    time: view.getUint32(at + 32),
    type: view.getUint32(at + 36),
    char: view.getUint32(at + 40),
  });
  let at = 0;
  let c = counts(at);
  let timeSize = 4;
  if (version >= 0x32) {
    // Skip the 32-bit block; the 64-bit one after it is complete.
    at += 44 + c.time * 4 + c.time + c.type * 6 + c.char + c.leap * 8 + c.isstd + c.isut;
    if (String.fromCharCode(...bytes.subarray(at, at + 4)) !== "TZif") return null;
    c = counts(at);
    timeSize = 8;
  }
  let p = at + 44;
  const times: number[] = [];
  for (let i = 0; i < c.time; i++, p += timeSize) times.push(timeSize === 8 ? Number(view.getBigInt64(p)) : view.getInt32(p));
  const idx = Array.from(bytes.subarray(p, p + c.time));
  p += c.time;
  const offsets: number[] = [];
  for (let i = 0; i < c.type; i++, p += 6) offsets.push(view.getInt32(p));
  p += c.char + c.leap * (timeSize + 4) + c.isstd + c.isut;
  let rule: Rule | null = null;
  if (timeSize === 8 && bytes[p] === 0x0a) {
    const endAt = bytes.indexOf(0x0a, p + 1);
    const footer = String.fromCharCode(...bytes.subarray(p + 1, endAt < 0 ? bytes.length : endAt));
    if (footer !== "") {
      rule = parseRule(footer);
      if (!rule) return null;
    }
  }
  if (offsets.length === 0) return null;
  return (t) => {
    if (times.length === 0 || t < times[0]!) return times.length === 0 && rule ? ruleOffset(rule, t) : offsets[0]!;
    if (t >= times[times.length - 1]! && rule) return ruleOffset(rule, t);
    let lo = 0;
    let hi = times.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (times[mid]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return offsets[idx[lo]!]!;
  };
}

/** A POSIX TZ string (`CET-1CEST,M3.5.0,M10.5.0/3`, `<+0530>-5:30`, `UTC0`); null if malformed. */
export function parseRule(text: string): Rule | null {
  let s = text;
  const name = (): boolean => {
    const m = /^(<[^>]*>|[A-Za-z]{3,})/.exec(s);
    if (!m) return false;
    s = s.slice(m[0].length);
    return true;
  };
  const hms = (signed: boolean): number | null => {
    const m = (signed ? /^([+-]?)(\d{1,3})(?::(\d{1,2})(?::(\d{1,2}))?)?/ : /^()(\d{1,3})(?::(\d{1,2})(?::(\d{1,2}))?)?/).exec(s);
    if (!m) return null;
    s = s.slice(m[0].length);
    const v = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === "-" ? -v : v;
  };
  if (!name()) return null;
  const std = hms(true);
  if (std === null) return null;
  const rule: Rule = { stdOff: 0 - std };
  if (s === "") return rule;
  if (!name()) return null;
  rule.dstOff = rule.stdOff + 3600;
  if (s !== "" && s[0] !== ",") {
    const dst = hms(true);
    if (dst === null) return null;
    rule.dstOff = 0 - dst;
  }
  if (s === "") {
    // No rule given: glibc's default, the US rules.
    s = ",M3.2.0,M11.1.0";
  }
  const date = (): RuleDate | null => {
    if (s[0] !== ",") return null;
    s = s.slice(1);
    let d: RuleDate;
    let m: RegExpExecArray | null;
    if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(s))) d = { kind: "M", month: Number(m[1]), week: Number(m[2]), day: Number(m[3]), time: 7200 };
    else if ((m = /^J(\d{1,3})/.exec(s))) d = { kind: "J", day: Number(m[1]), time: 7200 };
    else if ((m = /^(\d{1,3})/.exec(s))) d = { kind: "n", day: Number(m[1]), time: 7200 };
    else return null;
    s = s.slice(m[0].length);
    if (s[0] === "/") {
      s = s.slice(1);
      const t = hms(true);
      if (t === null) return null;
      d.time = t;
    }
    return d;
  };
  const start = date();
  const end = date();
  if (!start || !end || s !== "") return null;
  rule.start = start;
  rule.end = end;
  return rule;
}

const DAY = 86_400;
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Unix time of a rule date in `year`, given as local time with offset `off`. */
function ruleInstant(d: RuleDate, year: number, off: number): number {
  const jan1 = Date.UTC(year, 0, 1) / 1000;
  let doy: number;
  if (d.kind === "M") {
    const first = Date.UTC(year, d.month - 1, 1) / 1000;
    const dow1 = new Date(first * 1000).getUTCDay();
    let mday = 1 + ((d.day - dow1 + 7) % 7) + (d.week - 1) * 7;
    const days = new Date(Date.UTC(year, d.month, 0)).getUTCDate();
    while (mday > days) mday -= 7;
    doy = (first - jan1) / DAY + mday - 1;
  } else if (d.kind === "J") doy = d.day - 1 + (isLeap(year) && d.day >= 60 ? 1 : 0);
  else doy = d.day;
  return jan1 + doy * DAY + d.time - off;
}

function ruleOffset(rule: Rule, t: number): number {
  if (rule.dstOff === undefined || !rule.start || !rule.end) return rule.stdOff;
  const year = new Date((t + rule.stdOff) * 1000).getUTCFullYear();
  const start = ruleInstant(rule.start, year, rule.stdOff);
  const end = ruleInstant(rule.end, year, rule.dstOff);
  const inDst = start < end ? t >= start && t < end : !(t >= end && t < start);
  return inDst ? rule.dstOff : rule.stdOff;
}
