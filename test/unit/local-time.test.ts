import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadZone, parseRule, parseTzif } from "../../src/runtime/local-time.ts";

const ZONEINFO = "/usr/share/zoneinfo";

/** The offset ICU (Intl) gives for `zone` at Unix time `t`, in seconds east of UTC. */
const formats = new Map<string, Intl.DateTimeFormat>();
function intlOffset(zone: string, t: number): number {
  let f = formats.get(zone);
  if (!f) formats.set(zone, (f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" })));
  const parts = f.formatToParts(new Date(t * 1000));
  const n = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return (Date.UTC(n("year"), n("month") - 1, n("day"), n("hour"), n("minute"), n("second")) / 1000) - t;
}

/** Times from 1990 to 2060, every 9 days and 7 hours, plus an hour either side of each sample. */
function samples(): number[] {
  const out: number[] = [];
  for (let t = Date.UTC(1990, 0, 1) / 1000; t < Date.UTC(2060, 0, 1) / 1000; t += 9 * 86_400 + 7 * 3600) out.push(t, t + 3600, t - 3600);
  return out;
}

const ZONES = ["Europe/Berlin", "Europe/London", "America/New_York", "America/St_Johns", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Chatham", "UTC"];

describe("local time from the zone file", () => {
  for (const zone of ZONES) {
    it.skipIf(!existsSync(`${ZONEINFO}/${zone}`))(`agrees with ICU for ${zone}, 1990-2060 (past the last transition: the TZ rule)`, () => {
      const z = parseTzif(readFileSync(`${ZONEINFO}/${zone}`))!;
      expect(z).not.toBeNull();
      const wrong = samples().filter((t) => z(t) !== intlOffset(zone, t)).map((t) => new Date(t * 1000).toISOString());
      expect(wrong).toEqual([]);
    });
  }

  it("reads POSIX TZ strings: names, signs, minutes, southern rules, J and n days", () => {
    const at = (tz: string, iso: string) => {
      const zone = loadZone(tz, "/nonexistent")!;
      return zone(Date.parse(iso) / 1000);
    };
    expect(at("UTC0", "2024-07-01T00:00:00Z")).toBe(0);
    expect(at("<+0530>-5:30", "2024-07-01T00:00:00Z")).toBe(19_800);
    expect(at("EST5EDT,M3.2.0,M11.1.0", "2024-03-10T06:59:59Z")).toBe(-18_000);
    expect(at("EST5EDT,M3.2.0,M11.1.0", "2024-03-10T07:00:00Z")).toBe(-14_400);
    expect(at("EST5EDT,M3.2.0,M11.1.0", "2024-11-03T05:59:59Z")).toBe(-14_400);
    expect(at("EST5EDT,M3.2.0,M11.1.0", "2024-11-03T06:00:00Z")).toBe(-18_000);
    expect(at("EST5EDT", "2024-07-01T00:00:00Z")).toBe(-14_400);
    expect(at("CET-1CEST,M3.5.0,M10.5.0/3", "2024-10-27T00:59:59Z")).toBe(7200);
    expect(at("CET-1CEST,M3.5.0,M10.5.0/3", "2024-10-27T01:00:00Z")).toBe(3600);
    expect(at("AEST-10AEDT,M10.1.0,M4.1.0/3", "2024-01-15T00:00:00Z")).toBe(39_600);
    expect(at("AEST-10AEDT,M10.1.0,M4.1.0/3", "2024-07-15T00:00:00Z")).toBe(36_000);
    expect(at("XXX0YYY,J60/0,300/0", "2024-03-01T00:00:00Z")).toBe(3600);
    expect(at("XXX0YYY,J60/0,300/0", "2024-02-29T23:59:59Z")).toBe(0);
    expect(parseRule("nonsense")).toBeNull();
    expect(parseRule("EST5EDT,M3.2.0")).toBeNull();
  });

  it("empty TZ is UTC; a TZ it cannot read is left to Date", () => {
    expect(loadZone("")!(1_700_000_000)).toBe(0);
    expect(loadZone(":No/Such_Zone", "/nonexistent")).toBeNull();
    expect(loadZone("No/Such_Zone", "/nonexistent")).toBeNull();
  });
});
