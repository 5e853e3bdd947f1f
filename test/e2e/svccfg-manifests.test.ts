/**
 * svccfg's manifest, profile and entity commands (issue 15.9) through the compiled binary:
 * export → delete → import round-trips, apply of a profile, validate, revert to a snapshot,
 * delpropvalue on a value the instance inherits, and their errors.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanupRoot, run, runAsync, tempRoot } from "../helpers/cli.ts";
import { newRepository } from "../helpers/daemon.ts";

let root: string;
const svccfg = (...args: string[]) => run(["svccfg", ...args], { root });
const ok = (...args: string[]): string => {
  const r = svccfg(...args);
  if (r.code !== 0) throw new Error(`svccfg ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};
const svcprop = (...args: string[]) => run(["svcprop", ...args], { root });

beforeEach(() => {
  root = newRepository(tempRoot("xvm-svccfg-manifest-"));
});

afterEach(async () => {
  await cleanupRoot(root, []);
});

describe("svccfg import and export", () => {
  it("round-trips: export, delete, import gives the same listprop and describe", () => {
    ok("-s", "xend", "setprop", "config/dom0-cpus", "=", "integer:", "2");
    ok("-s", "xend:default", "setprop", "config/xend-relocation-hosts-allow", "=", "astring:", "'^localhost$'");
    // Nonpersistent groups (restarter/*, restarter_actions/*) are the restarter's run-time state, not configuration.
    const config = (text: string) => text.split("\n").filter((l) => !/^restarter/.test(l)).join("\n");
    const listing = () => ({ svc: ok("-s", "xend", "listprop"), inst: config(ok("-s", "xend:default", "listprop")), describe: ok("-s", "xend", "describe", "config/dom0-cpus") });
    const before = listing();
    const manifest = join(root, "xend.xml");
    ok("export", "xend", ">", manifest);
    expect(ok("delete", "xend")).toBe("");
    expect(svccfg("-s", "xend", "listprop")).toEqual({ code: 1, stdout: "", stderr: "svccfg: Pattern 'xend' doesn't match any instances or services\n" });
    expect(ok("import", manifest)).toBe("");
    expect(listing()).toEqual(before);
    expect(ok("-s", "xend:default", "listsnap").split("\n").sort()).toEqual(["", "initial", "last-import", "running"]);
    expect(svcprop("-p", "config/dom0-cpus", "xend").stdout).toBe("2\n");
  });

  it("round-trips svc:/system/xvm/domains: its dependency is exported as a dependency element and comes back", () => {
    const config = (text: string) => text.split("\n").filter((l) => !/^restarter/.test(l)).join("\n");
    const listing = () => ({ svc: ok("-s", "domains", "listprop"), inst: config(ok("-s", "domains:default", "listprop")) });
    const before = listing();
    const manifest = join(root, "domains.xml");
    ok("export", "domains", ">", manifest);
    const xml = readFileSync(manifest, "utf8");
    expect(xml).toContain([
      "    <dependency name='xend' grouping='require_all' restart_on='restart' type='service'>",
      "      <service_fmri value='svc:/system/xvm/xend:default'/>",
      "    </dependency>",
      "    <exec_method name='start' type='method' exec='xvm xend domains start' timeout_seconds='300'/>",
      "    <exec_method name='stop' type='method' exec='xvm xend domains stop' timeout_seconds='300'/>",
    ].join("\n"));
    expect(xml).toContain("    <instance name='default' enabled='true'/>\n");
    expect(ok("delete", "domains")).toBe("");
    expect(run(["svcs", "-D", "xend"], { root }).stdout).toBe("STATE          STIME    FMRI\n");
    expect(ok("import", manifest)).toBe("");
    expect(listing()).toEqual(before);
    expect(run(["svcs", "-H", "-o", "fmri", "-D", "xend"], { root }).stdout).toBe("svc:/system/xvm/domains:default\n");
  });

  it("imports a Solaris-style manifest with a default instance, a dependency and a method", () => {
    const file = join(root, "site.xml");
    writeFileSync(file, `<?xml version="1.0"?>
<!DOCTYPE service_bundle SYSTEM "/usr/share/lib/xml/dtd/service_bundle.dtd.1">
<!-- a site service as an administrator wrote it -->
<service_bundle type="manifest" name="site:backup">
  <service name="site/backup" type="service" version="1">
    <create_default_instance enabled="false"/>
    <single_instance/>
    <dependency name="xend" grouping="require_all" restart_on="none" type="service">
      <service_fmri value="svc:/system/xvm/xend"/>
    </dependency>
    <exec_method type="method" name="start" exec="/opt/site/bin/backup &amp; wait" timeout_seconds="60"/>
    <property_group name="config" type="application">
      <propval name="target" type="astring" value="/backup"/>
      <property name="hosts" type="astring">
        <astring_list><value_node value="a"/><value_node value="b"/></astring_list>
      </property>
    </property_group>
    <stability value="Unstable"/>
  </service>
</service_bundle>
`);
    expect(ok("import", file)).toBe("");
    expect(ok("list", "site/*")).toBe("site/backup\n");
    expect(svcprop("-p", "config", "svc:/site/backup:default").stdout).toBe("config/target astring /backup\nconfig/hosts astring a b\n");
    expect(svcprop("-p", "start/exec", "svc:/site/backup:default").stdout).toBe("/opt/site/bin/backup\\ \\&\\ wait\n");
    expect(svcprop("-p", "xend/entities", "svc:/site/backup:default").stdout).toBe("svc:/system/xvm/xend\n");
  });

  it("refuses a broken manifest with its line and changes nothing", () => {
    const file = join(root, "bad.xml");
    writeFileSync(file, "<service_bundle type='manifest'>\n  <service name='x/y' type='service'>\n    <property_group name='p'>\n  </service>\n</service_bundle>\n");
    const listBefore = ok("list");
    expect(svccfg("import", file)).toEqual({ code: 1, stdout: "", stderr: `svccfg: ${file}: line 4: </service> closes <property_group> (opened at line 3)\n` });
    writeFileSync(file, "<service_bundle type='manifest'><service name='x/y'><property_group name='p'><propval name='n' type='count' value='many'/></property_group></service></service_bundle>\n");
    expect(svccfg("import", file)).toEqual({ code: 1, stdout: "", stderr: `svccfg: ${file}: line 1: invalid count value 'many'\n` });
    expect(ok("list")).toBe(listBefore);
  });
});

describe("svccfg apply, validate, revert, delete", () => {
  const profile = (enabled: string, cpus: string) => `<?xml version='1.0'?>
<service_bundle type='profile' name='site'>
  <service name='system/xvm/xend' type='service' version='0'>
    <instance name='default' enabled='${enabled}'>
      <property_group name='config' type='application'>
        <propval name='dom0-cpus' type='integer' value='${cpus}'/>
      </property_group>
    </instance>
  </service>
</service_bundle>
`;

  it("apply sets an instance's values and refreshes it; a value the template refuses changes nothing", () => {
    const file = join(root, "profile.xml");
    writeFileSync(file, profile("false", "3"));
    expect(ok("apply", file)).toBe("");
    expect(svcprop("-p", "config/dom0-cpus", "xend").stdout).toBe("3\n");
    writeFileSync(file, profile("false", "-4"));
    const r = svccfg("apply", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^svccfg: Invalid "integer" value "-4" for config\/dom0-cpus \(/);
    expect(svcprop("-p", "config/dom0-cpus", "xend").stdout).toBe("3\n");
  });

  it("validate checks a file or the selected instance against the templates", () => {
    const file = join(root, "profile.xml");
    writeFileSync(file, profile("false", "2"));
    expect(svccfg("validate", file)).toEqual({ code: 0, stdout: "", stderr: "" });
    writeFileSync(file, profile("false", "-4"));
    const r = svccfg("validate", file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^svccfg: svc:\/system\/xvm\/xend:default: Invalid "integer" value "-4" for config\/dom0-cpus/);
    expect(svccfg("-s", "xend:default", "validate")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(svccfg("-s", "xend", "validate")).toEqual({ code: 1, stdout: "", stderr: "svccfg: Instance not selected.\n" });
  });

  it("revert brings back a snapshot's values", () => {
    const before = ok("-s", "xend:default", "listprop", "config/*");
    ok("-s", "xend:default", "setprop", "config/dom0-cpus", "=", "integer:", "4");
    ok("-s", "xend", "setprop", "config/dom0-min-mem", "=", "integer:", "512");
    ok("-s", "xend:default", "refresh");
    expect(ok("-s", "xend:default", "listprop", "config/dom0-cpus")).toMatch(/ 4\n$/);
    expect(ok("-s", "xend:default", "revert", "initial")).toBe("");
    expect(ok("-s", "xend:default", "listprop", "config/*")).toBe(before);
    expect(svccfg("-s", "xend:default", "revert")).toEqual({ code: 1, stdout: "", stderr: "svccfg: No snapshot selected.\n" });
    expect(svccfg("-s", "xend:default", "revert", "nosuch")).toEqual({ code: 1, stdout: "", stderr: "svccfg: No such snapshot.\n" });
  });

  it("delpropvalue at an instance works on a value it inherits, leaving the service's", () => {
    ok("-s", "xend", "setprop", "config/site-tags", "=", "astring:", '("a" "b" "c")');
    ok("-s", "xend:default", "delpropvalue", "config/site-tags", "b");
    expect(ok("-s", "xend:default", "listprop", "config/site-tags")).toBe('config/site-tags  astring  "a" "c"\n');
    expect(ok("-s", "xend", "listprop", "config/site-tags")).toBe('config/site-tags  astring  "a" "b" "c"\n');
  });

  it("delete refuses the master restarter and unknown names", () => {
    expect(svccfg("delete", "svc:/system/svc/restarter:default")).toEqual({ code: 1, stdout: "", stderr: "svccfg: svc:/system/svc/restarter is the master restarter and cannot be deleted.\n" });
    expect(svccfg("delete", "nosuch")).toEqual({ code: 1, stdout: "", stderr: "svccfg: Pattern 'nosuch' doesn't match any instances or services\n" });
  });
});

describe("svcprop -w", () => {
  it("waits for a refresh to change the value, then prints the new one", async () => {
    expect(svcprop("-p", "config/dom0-cpus", "xend").stdout).toBe("0\n");
    const watcher = runAsync(["svcprop", "-w", "-p", "config/dom0-cpus", "xend"], { root });
    let exited = false;
    void watcher.then(() => (exited = true));
    // The watcher takes its baseline some time after it starts: keep changing the value until it reports.
    const deadline = Date.now() + 30_000;
    for (let n = 1; !exited && Date.now() < deadline; n++) {
      ok("-s", "xend:default", "setprop", "config/dom0-cpus", "=", "integer:", String(n));
      ok("-s", "xend:default", "refresh");
      await new Promise((r) => setTimeout(r, 300));
    }
    const r = await watcher;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[1-9][0-9]*\n$/);
  });

  it("refuses -w with several operands or with -c, and fails at once on a missing property", () => {
    expect(svcprop("-w", "-c", "xend").code).toBe(2);
    expect(svcprop("-w", "xend", "xend").code).toBe(2);
    expect(svcprop("-w", "-p", "config/nosuch", "xend")).toEqual({ code: 1, stdout: "", stderr: "svcprop: Couldn't find property `config/nosuch' for instance `svc:/system/xvm/xend:default'.\n" });
  });
});
