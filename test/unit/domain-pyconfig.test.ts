import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigFileError, nameFromFile, parseDomainConfig } from "../../src/domain/config-parser.ts";
import { runConfig, type HostAccess } from "../../src/domain/pyconfig/index.ts";
import { checkProgram } from "../../src/hypervisor/sim/programs.ts";

const host: HostAccess = {
  exists: (p) => p === "/etc/xen/present",
  isFile: (p) => p === "/etc/xen/present",
  isDir: () => false,
  env: () => ({ XVM_SITE: "lab" }),
  uname: () => ["Linux", "dom0", "6.1.0", "#1 SMP", "x86_64"],
};

/** The module-level values after running `text`, as plain JavaScript. */
function values(text: string, vars: Record<string, unknown> = {}): Record<string, unknown> {
  const { entries } = runConfig(text, "t.cfg", new Map(Object.entries(vars) as [string, never][]), host);
  const plain = (v: (typeof entries)[number]["value"]): unknown =>
    v.kind === "list" ? v.items.map(plain) : v.kind === "other" ? `<${v.type}>` : v.value;
  return Object.fromEntries(entries.map((e) => [e.key, plain(e.value)]));
}

function failure(text: string): string {
  try {
    runConfig(text, "t.cfg", new Map(), host);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigFileError);
    return (error as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("the Python subset of xm configs", () => {
  it("evaluates arithmetic with Python 2's integer semantics", () => {
    expect(values("a = 7 / 2\nb = -7 / 2\nc = 7 % 3\nd = -7 % 3\ne = 2 ** 10\nf = 7 // 2.0\ng = 1024L\nh = 3 * 'ab'\ni = [0] * 3\n")).toEqual({
      a: 3, b: -4, c: 1, d: 2, e: 1024, f: 3, g: 1024, h: "ababab", i: [0, 0, 0],
    });
  });

  it("reads every string form: quotes, triple quotes, raw, prefixes and adjacent literals", () => {
    expect(values(`a = 'x' "y"\nb = """two\nlines"""\nc = r'\\d+'\nd = u'u'\ne = '''it's'''\n`)).toEqual({
      a: "xy", b: "two\nlines", c: "\\d+", d: "u", e: "it's",
    });
  });

  it("formats with % as Python did", () => {
    expect(values(`a = "VM%d" % 3\nb = '%02x:%s' % (10, 'z')\nc = '%(n)s-%(m)03d' % {'n': 'web', 'm': 7}\nd = '%5.1f|%-4s|%%' % (2.75, 'ab')\ne = '%r' % 'q'\n`)).toEqual({
      a: "VM3", b: "0a:z", c: "web-007", d: "  2.8|ab  |%", e: "'q'",
    });
    expect(failure("a = '%d %d' % (1,)\n")).toBe("t.cfg:1:15: not enough arguments for format string");
    expect(failure("a = '%d' % (1, 2)\n")).toBe("t.cfg:1:12: not all arguments converted during string formatting");
  });

  it("runs if/elif/else statements and conditional expressions, with and/or/not/in", () => {
    const text = [
      "mem = 256",
      "if mem > 512:",
      "    size = 'large'",
      "elif mem > 128 and not mem == 200:",
      "    size = 'medium'",
      "else:",
      "    size = 'small'",
      "kind = 'big' if mem in (256, 512) else 'odd'",
      "flag = 'x' in 'xyz' or 0",
      "if mem: x = 1; y = 2",
    ].join("\n");
    expect(values(text)).toEqual({ mem: 256, size: "medium", kind: "big", flag: 1, x: 1, y: 2 });
  });

  it("builds lists, tuples and dicts, indexes and slices them, and calls their methods", () => {
    const text = [
      "d = {'a': 1, 'b': [2, 3]}",
      "t = (1, 2, 3)",
      "l = ['x']",
      "l.append('y')",
      "l += ['z']",
      "first, last = t[0], t[-1]",
      "b1 = d['b'][1]",
      "s = 'a,b,c'.split(',')[1:]",
      "j = '-'.join(['p', 'q'])",
      "g = d.get('c', 9)",
      "n = len(d) + len(t)",
      "u = ' Mixed '.strip().upper()",
    ].join("\n");
    expect(values(text)).toMatchObject({ t: [1, 2, 3], l: ["x", "y", "z"], first: 1, last: 3, b1: 3, s: ["b", "c"], j: "p-q", g: 9, n: 5, u: "MIXED", d: "<dict>" });
  });

  it("imports os, os.path and re, through the host it is given", () => {
    const text = [
      "import os, re",
      "from os.path import exists",
      "arch = os.uname()[4]",
      "lib = 'lib64' if re.search('64', arch) else 'lib'",
      "have = os.path.exists('/etc/xen/present')",
      "missing = exists('/etc/xen/absent')",
      "site = os.getenv('XVM_SITE', 'none')",
      "p = os.path.join('/usr', lib, 'xen')",
    ].join("\n");
    expect(values(text)).toEqual({ arch: "x86_64", lib: "lib64", have: 1, missing: 0, site: "lab", p: "/usr/lib64/xen" });
  });

  it("gives command-line variables to the file", () => {
    expect(values("vmid = int(vmid)\nname = 'vm%d' % vmid\n", { vmid: "3" })).toEqual({ vmid: 3, name: "vm3" });
  });

  const refusals: [string, string][] = [
    ["def f():\n    pass\n", "t.cfg:1:1: function definitions are not supported in a domain config (a config may use assignments, if/elif/else, import os and expressions)"],
    ["while 1:\n    pass\n", "t.cfg:1:1: 'while' loops are not supported in a domain config (a config may use assignments, if/elif/else, import os and expressions)"],
    ["x = [n for n in l]\n", "t.cfg:1:8: comprehensions are not supported in a domain config; write the list out"],
    ["x = lambda: 1\n", "t.cfg:1:5: lambda is not supported in a domain config (a config may use assignments, if/elif/else, import os and expressions)"],
    ["import subprocess\n", "t.cfg:1:8: import subprocess: only os, os.path, re can be imported in a domain config"],
    ["x = open('/etc/shadow').read()\n", "t.cfg:1:5: open() is not supported in a domain config (it may not read files)"],
    ["x = 'a' + 1\n", "t.cfg:1:11: cannot concatenate 'str' and 'int' objects (use str() or '%s' % …)"],
    ["x = 1 / 0\n", "t.cfg:1:9: ZeroDivisionError: division by zero"],
    ["x = [1][5]\n", "t.cfg:1:9: index out of range"],
    ["x = {'a': 1}['b']\n", "t.cfg:1:14: KeyError: 'b'"],
    ["x = undefined_thing\n", "t.cfg:1:5: name 'undefined_thing' is not defined; put text in quotes ('undefined_thing')"],
    ["if 1:\nx = 2\n", "t.cfg:2:1: expected an indented block"],
    ["if 1:\n    x = 2\n  y = 3\n", "t.cfg:3:3: unindent does not match any outer indentation level"],
    ["raise ValueError('vmid must be 1-10')\n", "t.cfg:1:1: the config raised ValueError: vmid must be 1-10"],
    ["x = 'ab' * 10000000\n", "t.cfg:1:12: the repeated sequence is too long"],
    ["raise ValueError('a\\nb\\x1b[2J')\n", "t.cfg:1:1: the config raised ValueError: a\\x0ab\\x1b[2J"],
    ["x = " + "(".repeat(70) + "1" + ")".repeat(70) + "\n", "t.cfg:1:69: brackets nested deeper than 64"],
  ];
  for (const [text, message] of refusals) {
    it(`refuses ${JSON.stringify(text.slice(0, 40))} at its place`, () => {
      expect(failure(text)).toBe(message);
    });
  }

  it("does not warn about helper variables the file reads, nor about re-setting a name in a branch", () => {
    const { warnings, config } = parseDomainConfig(
      "base = 64\nmemory = base * 2\nkernel = 'sim:idle'\nmemory = 96\nif memory > 64:\n    memory = 160\nspare = 1\n",
      { source: "w.cfg", defaultName: "w" },
    );
    expect(config.memory).toBe(160);
    expect(warnings).toEqual(["w.cfg:4:1: 'memory' is set again (first at line 2); the last value wins", "w.cfg:7:1: unknown setting 'spare' (ignored)"]);
  });

  it("coerces numbers written as strings, as create.py's set_int did", () => {
    const { config } = parseDomainConfig("kernel = 'sim:idle'\nmemory = \"128\"\nvcpus = ' 2 '\n", { source: "w.cfg", defaultName: "w" });
    expect(config).toMatchObject({ memory: 128, vcpus: 2 });
  });
});

/** Configs as xVM administrators wrote them: each accepted, or refused naming the setting and why. */
describe("the config corpus", () => {
  const dir = join(import.meta.dirname, "../fixtures/xm-configs");
  const expected: Record<string, { accepted: Record<string, unknown>; onSim?: string } | { refused: string }> = {
    "xmexample1.cfg": {
      accepted: { name: "ExampleDomain", memory: 64, kernel: "/boot/vmlinuz-2.6.18-xen", root: "/dev/hda1 ro", extra: "4", disk: ["phy:hda1,hda1,w"] },
      onSim: "kernel '/boot/vmlinuz-2.6.18-xen' is not a simulated guest program (choose one of sim:idle, sim:counter, sim:memwriter, sim:busy, sim:disk)",
    },
    "xmexample2.cfg": {
      accepted: { name: "VM3", memory: 112, kernel: "sim:counter", extra: "4 VMID=3", disk: ["phy:sda10,sda1,w", "phy:sda6,sda6,r"], vif: [{ mac: "00:16:3e:00:00:03", bridge: "xenbr0" }] },
    },
    "xmexample.hvm": {
      accepted: { name: "ExampleHVMDomain", memory: 128, extraKeys: expect.objectContaining({ builder: "hvm", boot: "cda", device_model: expect.stringMatching(/^\/usr\/lib(64)?\/xen\/bin\/qemu-dm$/) }) },
      onSim: "kernel '/usr/lib/xen/boot/hvmloader' is the HVM firmware loader: builder = 'hvm' guests need the qemu driver (svccfg -s xend setprop config/hypervisor = qemu)",
    },
    "centos5-pygrub.cfg": {
      refused: "centos5-pygrub.cfg:1:1: kernel is required (for the simulated hypervisor: kernel = \"sim:idle\", \"sim:counter\" or \"sim:memwriter\")\n" +
        "centos5-pygrub.cfg:4:14: bootloader = '/usr/bin/pygrub' is not supported: xvm boots the kernel (and ramdisk) named in the config directly; copy them out of the guest's disk and set kernel = and ramdisk =",
    },
    "solaris-pv.cfg": {
      refused: "solaris-pv.cfg:5:10: kernel '/platform/i86xpv/kernel/amd64/unix' is a Solaris kernel path (/platform/i86xpv): a Solaris PV guest cannot boot on this host",
    },
    "computed-sim.cfg": {
      accepted: { name: "calc-large", kernel: "sim:counter", memory: 256, maxmem: 512, vcpus: 2, cpus: "0-1", extra: "big guest", on_crash: "preserve", vif: [{ mac: "00:16:3e:00:01:07", bridge: "xenbr0" }] },
    },
  };

  it("covers every file in the corpus", () => {
    expect(readdirSync(dir).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const [file, outcome] of Object.entries(expected)) {
    it(`${file}: ${"refused" in outcome ? "refused with the reason" : "accepted"}`, () => {
      const text = readFileSync(join(dir, file), "utf8");
      const parse = () => parseDomainConfig(text, { source: file, defaultName: nameFromFile(file), overrides: file === "xmexample2.cfg" ? ["vmid=3"] : [] });
      if ("refused" in outcome) {
        expect(parse).toThrow(ConfigFileError);
        expect(() => parse()).toThrow(outcome.refused);
        return;
      }
      const { config } = parse();
      expect(config).toMatchObject(outcome.accepted);
      if (outcome.onSim) expect(() => checkProgram(config.kernel, config.extra ?? "", config.memory * 2 ** 20)).toThrow(outcome.onSim);
    });
  }
});
