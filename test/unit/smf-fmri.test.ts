import { describe, expect, it } from "vitest";
import { type Entity, findInstances, findMatches, fnmatch, matchFmri, parseFullFmri } from "../../src/smf/fmri.ts";

const entities: Entity[] = [
  { service: "system/xvm/xend", instances: ["default"] },
  { service: "system/svc/restarter", instances: ["default"] },
  { service: "network/smtp", instances: ["sendmail"] },
];

const names = (pattern: string) => findMatches(pattern, entities).map(matchFmri);

describe("FMRI abbreviations (as svccfg/svcadm match them)", () => {
  it("names the xend service by any trailing part of its name, or in full", () => {
    for (const p of ["xend", "xvm/xend", "system/xvm/xend", "svc:system/xvm/xend", "svc:/system/xvm/xend", "/system/xvm/xend", "svc://localhost/system/xvm/xend"]) {
      expect(names(p)).toEqual(["svc:/system/xvm/xend"]);
    }
  });
  it("names the instance with :instance", () => {
    for (const p of ["xend:default", "xvm/xend:default", "svc:/system/xvm/xend:default", "svc:system/xvm/xend:default"]) {
      expect(names(p)).toEqual(["svc:/system/xvm/xend:default"]);
    }
  });
  it("matches whole path components only (smf(5): 'mail', 'network', 'network/smt' are invalid)", () => {
    expect(names("mail")).toEqual([]);
    expect(names("network")).toEqual([]);
    expect(names("network/smt")).toEqual([]);
    expect(names("end")).toEqual([]);
    expect(names("svc:/system/xvm")).toEqual([]);
  });
  it("accepts the smf(5) examples for svc:/network/smtp:sendmail", () => {
    expect(names("sendmail")).toEqual(["svc:/network/smtp:sendmail"]);
    expect(names(":sendmail")).toEqual(["svc:/network/smtp:sendmail"]);
    expect(names("smtp")).toEqual(["svc:/network/smtp"]);
    expect(names("smtp:sendmail")).toEqual(["svc:/network/smtp:sendmail"]);
    expect(names("network/smtp")).toEqual(["svc:/network/smtp"]);
  });
  it("reports every match of an ambiguous name", () => {
    expect(names("default")).toEqual(["svc:/system/xvm/xend:default", "svc:/system/svc/restarter:default"]);
    expect(names(":default")).toEqual(["svc:/system/xvm/xend:default", "svc:/system/svc/restarter:default"]);
  });
  it("unknown instances and services match nothing", () => {
    expect(names("xend:nope")).toEqual([]);
    expect(names("svc:/system/xvm/xend:nope")).toEqual([]);
    expect(names("svc:/nope")).toEqual([]);
  });
  it("fnmatch patterns match services and instances", () => {
    expect(names("svc:/system/*")).toEqual([
      "svc:/system/xvm/xend", "svc:/system/xvm/xend:default", "svc:/system/svc/restarter", "svc:/system/svc/restarter:default",
    ]);
    expect(names("*xend*")).toEqual(["svc:/system/xvm/xend", "svc:/system/xvm/xend:default"]);
    expect(names("xe?d")).toEqual(["svc:/system/xvm/xend"]);
    expect(names("system/xvm/x[a-z]nd:default")).toEqual(["svc:/system/xvm/xend:default"]);
  });
  it("expands services to their instances for the commands that act on instances", () => {
    expect(findInstances("xend", entities)).toEqual([{ service: "system/xvm/xend", instance: "default" }]);
    expect(findInstances("svc:/system/*", entities)).toEqual([
      { service: "system/xvm/xend", instance: "default" },
      { service: "system/svc/restarter", instance: "default" },
    ]);
  });
});

describe("parseFullFmri", () => {
  it("splits service and instance, with or without the slash after svc:", () => {
    expect(parseFullFmri("svc:/system/xvm/xend:default")).toEqual({ service: "system/xvm/xend", instance: "default" });
    expect(parseFullFmri("svc:system/xvm/xend")).toEqual({ service: "system/xvm/xend", instance: undefined });
  });
  it("rejects what is not an FMRI", () => {
    expect(parseFullFmri("xend")).toBeUndefined();
    expect(parseFullFmri("svc:/")).toBeUndefined();
    expect(parseFullFmri("svc:/system/xvm/xend/")).toBeUndefined();
    expect(parseFullFmri("svc:/system/xvm/xend:")).toBeUndefined();
    expect(parseFullFmri("svc:/9system")).toBeUndefined();
  });
});

describe("fnmatch (no FNM_PATHNAME, as svccfg's listprop uses it)", () => {
  it("lets * and ? cross slashes", () => {
    expect(fnmatch("config/*", "config/dom0-cpus")).toBe(true);
    expect(fnmatch("*cpus", "config/dom0-cpus")).toBe(true);
    expect(fnmatch("config?dom0-cpus", "config/dom0-cpus")).toBe(true);
    expect(fnmatch("config", "config/dom0-cpus")).toBe(false);
  });
  it("supports bracket classes, negation and escapes", () => {
    expect(fnmatch("dom[0-9]-cpus", "dom0-cpus")).toBe(true);
    expect(fnmatch("dom[!0-9]-cpus", "dom0-cpus")).toBe(false);
    expect(fnmatch("a\\*b", "a*b")).toBe(true);
    expect(fnmatch("a\\*b", "axb")).toBe(false);
    expect(fnmatch("a[", "a[")).toBe(true);
  });
  it("treats regular-expression characters literally", () => {
    expect(fnmatch("^localhost$", "^localhost$")).toBe(true);
    expect(fnmatch("a.b", "axb")).toBe(false);
    expect(fnmatch("(x)", "(x)")).toBe(true);
  });
});
