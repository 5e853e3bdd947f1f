import { describe, expect, it } from "vitest";
import { ConfigFileError, nameFromFile, parseDomainConfig } from "../../src/domain/config-parser.ts";
import { parseConfigText, parseOverride } from "../../src/domain/config-syntax.ts";

const BASE = `name = "web1"\nkernel = "sim:idle"\n`;

function errorsOf(text: string, overrides: string[] = []): string[] {
  try {
    parseDomainConfig(text, { source: "web1.cfg", overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return (error as Error).message.split("\n");
  }
  throw new Error("expected the config to be refused");
}

describe("config syntax", () => {
  it("reads strings, numbers in decimal, octal and hex, lists, comments and semicolons", () => {
    const entries = parseConfigText(
      [
        "# a comment line",
        "name = 'web1'   # trailing comment",
        'kernel = "sim:idle"; memory = 0x200',
        "vcpus = 02 ; maxvcpus = 0o4",
        "cpu_weight = 256",
        "vif = [ 'mac=00:16:3e:00:00:01', ",
        "        'bridge=br0',  # inside a list",
        "      ]",
        "extra = \"a\\tb\\x41\\\\d\"",
        "rtc_timeoffset = -3600",
        "pae = True",
        "disk = [ 'file:/a,xvda,w' ] ; ",
      ].join("\n"),
      "t.cfg",
    );
    const values = Object.fromEntries(entries.map((e) => [e.key, e.value.kind === "list" ? e.value.items.map((i) => (i as unknown as { value: unknown }).value) : (e.value as { value?: unknown }).value]));
    expect(values).toEqual({
      name: "web1", kernel: "sim:idle", memory: 512, vcpus: 2, maxvcpus: 4, cpu_weight: 256,
      vif: ["mac=00:16:3e:00:00:01", "bridge=br0"], extra: "a\tbA\\d", rtc_timeoffset: -3600, pae: 1,
      disk: ["file:/a,xvda,w"],
    });
    expect(entries.find((e) => e.key === "memory")!.keyPos).toEqual({ line: 3, column: 22 });
    expect(entries.find((e) => e.key === "memory")!.value.pos).toEqual({ line: 3, column: 31 });
  });

  it("joins a line ending in a backslash with the next", () => {
    const entries = parseConfigText('name = \\\n  "web1"\n', "t.cfg");
    expect(entries[0]!.value).toMatchObject({ kind: "string", value: "web1" });
  });


  const syntaxCases: [string, string][] = [
    ['name = "web1\nkernel = "x"\n', "t.cfg:1:13: unterminated string (opened at 1:8; use ''' … ''' for text over several lines)"],
    ["memory 512\n", "t.cfg:1:8: expected '=' after 'memory', found the number 512"],
    ["memory =\n", "t.cfg:1:9: expected a value after 'memory ='"],
    ["memory = 0x\n", "t.cfg:1:10: bad hex number '0x'"],
    ["memory = 08\n", "t.cfg:1:10: bad octal number '08' (a leading 0 means octal, digits 0-7)"],
    ["memory = 12ab\n", "t.cfg:1:10: bad number '12ab'"],
    ["name = web1\n", "t.cfg:1:8: name 'web1' is not defined; put text in quotes ('web1')"],
    ["vif = [ 'a' 1 ]\n", "t.cfg:1:13: expected ',' or ']' in the list opened at 1:7, found the number 1"],
    ["vif = [ 'a',\n", "t.cfg:2:1: unclosed '[' (opened at 1:7)"],
    ["memory = 512 vcpus = 2\n", "t.cfg:1:14: expected the end of the line after the value of 'memory', found 'vcpus'"],
    ["1name = 2\n", "t.cfg:1:1: bad number '1name'"],
    ["import subprocess\n", "t.cfg:1:8: import subprocess: only os, os.path, re can be imported in a domain config"],
    ["x = os.getenv('A')\n", "t.cfg:1:5: name 'os' is not defined: add 'import os' before using it"],
    ["for d in [1]:\n  x = d\n", "t.cfg:1:1: 'for' loops are not supported in a domain config (a config may use assignments, if/elif/else, import os and expressions)"],
    ['extra = """x\n', 't.cfg:2:1: unterminated string (opened at 1:9)'],
    ["extra = 'a\\x4'\n", "t.cfg:1:11: bad escape: \\x needs two hex digits"],
    ["print('hi')\n", "t.cfg:1:1: 'print' is not supported in a domain config (a config may use assignments, if/elif/else, import os and expressions)"],
  ];
  for (const [text, message] of syntaxCases) {
    it(`reports ${JSON.stringify(text.trim())} at its line and column`, () => {
      expect(() => parseConfigText(text, "t.cfg")).toThrow(message);
      try {
        parseConfigText(text, "t.cfg");
      } catch (error) {
        expect((error as ConfigFileError).message).toBe(message);
      }
    });
  }

  it("takes var=value overrides as values when they are one, else as plain strings", () => {
    expect(parseOverride("memory=256").value).toMatchObject({ kind: "number", value: 256 });
    expect(parseOverride("name=web2").value).toMatchObject({ kind: "string", value: "web2" });
    expect(parseOverride("extra=console=hvc0 quiet").value).toMatchObject({ kind: "string", value: "console=hvc0 quiet" });
    expect(parseOverride("vif=['mac=00:16:3e:00:00:09']").value).toMatchObject({ kind: "list" });
    expect(parseOverride("name='a b'").value).toMatchObject({ kind: "string", value: "a b" });
    expect(() => parseOverride("=3")).toThrow("command line '=3':1:1: expected var=value");
    expect(() => parseOverride("me-m=3")).toThrow("command line 'me-m=3':1:1: 'me-m' is not a setting name");
  });
});

describe("config meaning", () => {
  it("fills xm's defaults and names the domain after its file when the file does not", () => {
    const { config, warnings } = parseDomainConfig('kernel = "sim:idle"\n', { source: "web1.cfg", defaultName: nameFromFile("/etc/xen/web1.cfg") });
    expect(config).toEqual({
      name: "web1", memory: 128, vcpus: 1, kernel: "sim:idle", on_poweroff: "destroy", on_reboot: "restart", on_crash: "restart", vif: [], disk: [],
    });
    expect(warnings).toEqual([]);
  });

  it("builds the config of a typical file", () => {
    const { config } = parseDomainConfig(
      `${BASE}memory = 512\nmaxmem = 1024\nvcpus = 2\nmaxvcpus = 4\ncpus = "0-3,^1"\nvif = [ 'mac=00:16:3e:00:00:01, bridge=xenbr0', '' ]\n` +
        `disk = [ 'phy:/dev/vg/web1,xvda,w' ]\non_crash = "coredump_and_restart"\nextra = "rate=64M"\nlocaltime = 1\non_xend_start = "start"\n`,
      { source: "web1.cfg" },
    );
    expect(config).toEqual({
      name: "web1", kernel: "sim:idle", memory: 512, maxmem: 1024, vcpus: 2, maxvcpus: 4, cpus: "0-3,^1",
      vif: [{ mac: "00:16:3e:00:00:01", bridge: "xenbr0" }, {}], disk: ["phy:/dev/vg/web1,xvda,w"],
      on_poweroff: "destroy", on_reboot: "restart", on_crash: "coredump-restart", extra: "rate=64M", on_xend_start: "start",
      extraKeys: { localtime: 1 },
    });
  });

  it("warns about unknown settings and settings given twice, with their position", () => {
    const { warnings, config } = parseDomainConfig(`${BASE}memroy = 512\nmemory = 64\nmemory = 96\nrestart = 'always'\n`, { source: "web1.cfg" });
    expect(warnings).toEqual([
      "web1.cfg:3:1: unknown setting 'memroy' (ignored)",
      "web1.cfg:5:1: 'memory' is set again (first at line 4); the last value wins",
      "web1.cfg:6:1: 'restart' is deprecated and ignored; use on_poweroff, on_reboot and on_crash",
    ]);
    expect(config.memory).toBe(96);
  });

  it("rejects wrong types and values, every one at its line and column", () => {
    const text = [
      'name = "web1"',                               // 1
      'kernel = "sim:idle"',                         // 2
      'memory = "512M"',                             // 3
      "vcpus = 1.5",                                 // 4
      "on_crash = 'reboot'",                         // 5
      "vif = [ 'mac=00:16:3e:zz:00:01', 'mtu=9000', 7 ]", // 6
      "disk = 'phy:/dev/sda,xvda,w'",                // 7
      "cpus = [ 1 ]",                                // 8
    ].join("\n");
    expect(errorsOf(text)).toEqual([
      "web1.cfg:3:10: memory must be a whole number of MiB, not the string '512M'",
      "web1.cfg:4:9: vcpus must be a whole number, not 1.5",
      "web1.cfg:5:12: on_crash = 'reboot' is not an action; use one of destroy, restart, preserve, rename-restart, coredump-destroy, coredump-restart",
      "web1.cfg:6:34: vif[1]: unknown vif option 'mtu' (known: type, mac, bridge, ip, script, backend, vifname, rate, model, accel)",
      "web1.cfg:6:46: vif[2] must be a string in quotes, not the number 7",
      "web1.cfg:7:8: disk must be a list of strings like [ '…' ], not the string 'phy:/dev/sda,xvda,w'",
      "web1.cfg:8:8: cpus must be a string such as '0-3,^1', not a list",
    ]);
  });

  it("checks values against each other and their bounds", () => {
    expect(errorsOf(`${BASE}memory = 512\nmaxmem = 256\n`)).toEqual(["web1.cfg:4:10: maxmem (256 MiB) must not be below memory (512 MiB)"]);
    expect(errorsOf(`${BASE}vcpus = 4\nmaxvcpus = 2\n`)).toEqual(["web1.cfg:3:9: vcpus (4) must not exceed maxvcpus (2)"]);
    expect(errorsOf(`${BASE}vcpus = 33\n`)).toEqual(["web1.cfg:3:9: vcpus must be between 1 and 32, not 33"]);
    expect(errorsOf(`${BASE}memory = 0\n`)).toEqual(["web1.cfg:3:10: memory must be between 1 and 1048576 MiB, not 0"]);
    expect(errorsOf(`${BASE}memory = 2097152\n`)).toEqual(["web1.cfg:3:10: memory must be between 1 and 1048576 MiB, not 2097152"]);
    expect(errorsOf(`${BASE}cpus = "3-1"\n`)).toEqual(["web1.cfg:3:8: cpus range '3-1' runs backwards"]);
    expect(errorsOf(`${BASE}uuid = "nope"\n`)).toEqual(["web1.cfg:3:8: uuid 'nope' is not a uuid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"]);
    expect(errorsOf(`${BASE}disk = [ 'phy:/dev/sda,xvda,rw' ]\n`)).toEqual(["web1.cfg:3:10: disk[0] mode 'rw' must be r, w or w!"]);
    expect(errorsOf(`${BASE}on_xend_start = "always"\n`)).toEqual(["web1.cfg:3:17: on_xend_start 'always' must be ignore or start"]);
  });

  it("rejects bad MAC addresses, multicast ones and duplicates within the domain", () => {
    expect(errorsOf(`${BASE}vif = [ 'mac=00:16:3e:00:00' ]\n`)).toEqual(["web1.cfg:3:9: vif[0].mac '00:16:3e:00:00' is not a MAC address (six hex pairs like 00:16:3e:01:02:03)"]);
    expect(errorsOf(`${BASE}vif = [ 'mac=01:16:3e:00:00:01' ]\n`)).toEqual(["web1.cfg:3:9: vif[0].mac '01:16:3e:00:00:01' is a multicast address; a vif needs a unicast MAC (even first octet)"]);
    expect(errorsOf(`${BASE}vif = [ 'mac=00:16:3e:00:00:01', 'mac=00:16:3E:00:00:01' ]\n`)).toEqual(["web1.cfg:3:34: vif[1].mac '00:16:3E:00:00:01' is already used by vif 0 of this domain"]);
  });

  it("rejects bad names", () => {
    expect(errorsOf('name = "web 1"\nkernel = "sim:idle"\n')).toEqual(["web1.cfg:1:8: name 'web 1' may contain only letters, digits and _ . : + @ - (and must not start with one of . : + @ -)"]);
    expect(errorsOf('name = "42"\nkernel = "sim:idle"\n')).toEqual(["web1.cfg:1:8: name '42' must not be all digits (it would read as a domain id)"]);
    expect(errorsOf('name = "Domain-0"\nkernel = "sim:idle"\n')).toEqual(["web1.cfg:1:8: name 'Domain-0' is reserved for the control domain"]);
    expect(errorsOf('kernel = "sim:idle"\n')).toEqual(["web1.cfg:1:1: name '' must not be empty (set name = \"…\")"]);
  });

  it("requires a kernel", () => {
    expect(errorsOf('name = "web1"\n')).toEqual([
      'web1.cfg:1:1: kernel is required (for the simulated hypervisor: kernel = "sim:idle", "sim:counter" or "sim:memwriter")',
    ]);
  });

  it("lets command-line overrides win, and reports their errors against the argument", () => {
    const { config, warnings } = parseDomainConfig(`${BASE}memory = 512\n`, { source: "web1.cfg", overrides: ["memory=256", "name=web2", "vif=['bridge=br1']"] });
    expect(config).toMatchObject({ name: "web2", memory: 256, vif: [{ bridge: "br1" }] });
    expect(warnings).toEqual([]);
    expect(errorsOf(BASE, ["memory=lots"])).toEqual(["command line 'memory=lots':1:8: memory must be a whole number of MiB, not the string 'lots'"]);
    expect(errorsOf(BASE, ["vcpus=4", "maxvcpus=2"])).toEqual(["command line 'vcpus=4':1:7: vcpus (4) must not exceed maxvcpus (2)"]);
  });

  it("names a domain after its config file", () => {
    expect(nameFromFile("/etc/xen/web1.cfg")).toBe("web1");
    expect(nameFromFile("web2")).toBe("web2");
  });
});
