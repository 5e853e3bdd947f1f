import { describe, expect, it } from "vitest";
import { commandDefs, complete, type Live } from "../../src/cli/completion/complete.ts";
import { buildCli } from "../../src/cli/main.ts";

const live: Live = {
  domains: async () => ["web1", "web2", "db1"],
  fmris: async () => ["svc:/system/xvm/xend", "svc:/system/xvm/xend:default", "xend", "xend:default"],
  properties: async (fmri) => (fmri === "xend" || fmri.includes("xend") ? ["config", "config/dom0-cpus", "config/loglevel"] : []),
};

describe("completion candidates", () => {
  it("offers domain names for the xm commands that take a domain, nothing for a config file", async () => {
    const defs = commandDefs((await buildCli()).definitions());
    expect(await complete(defs, ["xm", "console", "w"], live)).toEqual(["web1", "web2"]);
    expect(await complete(defs, ["xm", "list", ""], live)).toEqual(["web1", "web2", "db1"]);
    expect(await complete(defs, ["xm", "create", ""], live)).toEqual([]);
    expect(await complete(defs, ["xm", "migrate", "--port", ""], live)).toEqual([]);
  });

  it("offers svcprop's property names after -p, FMRIs as operands", async () => {
    const defs = commandDefs((await buildCli()).definitions());
    expect(await complete(defs, ["svcprop", "xend", "-p", "config/l"], live)).toEqual(["config/loglevel"]);
    expect(await complete(defs, ["svcprop", "x"], live)).toEqual(["xend", "xend:default"]);
  });

  it("never offers the internal commands, and a broken source gives nothing rather than an error", async () => {
    const defs = commandDefs((await buildCli()).definitions());
    expect((await complete(defs, [""], live)).filter((w) => w.startsWith("_"))).toEqual([]);
    const broken: Live = { ...live, domains: async () => Promise.reject(new Error("no xend")) };
    expect(await complete(defs, ["xm", "pause", ""], broken)).toEqual([]);
  });
});
