import { describe, expect, it } from "vitest";
import {
  atomp, attributes, child, childValue, children, float, name, parse, parseAll, pyFloat, pyRepr, show, SxpParseError,
} from "../../src/formats/sxp.ts";

describe("SXP reader", () => {
  it("reads lists, atoms and both quote styles; every atom is a string", () => {
    expect(parseAll(`(vm (name 'web1') (memory 512) (args "a b"))`)).toEqual([
      ["vm", ["name", "web1"], ["memory", "512"], ["args", "a b"]],
    ]);
  });

  it("reads several top-level values and skips comments and all whitespace kinds", () => {
    expect(parseAll("# header\n(a b) # trailing\n\t\v\f\r c\n(d)")).toEqual([["a", "b"], "c", ["d"]]);
  });

  it("ends atoms at separators and comment marks, as sxp.py did", () => {
    expect(parseAll("ab#c\n")).toEqual(["ab"]);
    expect(parseAll("(x[0,1])")).toEqual([["x", "[0,1", "]"]]);
    expect(parseAll("a;b!c{d}<e>")).toEqual(["a", ";b", "!c", "{d", "}", "<e", ">"]);
  });

  it("decodes every escape xend knew", () => {
    expect(parse(String.raw`'\a\b\t\n\v\f\r\\\'\"'`)).toBe("\x07\b\t\n\v\f\r\\'\"");
    expect(parse(String.raw`"\x41\x4a\101\7x\0"`)).toBe("AJA\x07x\0");
    expect(parse(String.raw`'\x4g'`)).toBe("\x04g");
  });

  it("keeps unknown escapes and a bare \\x literally (xend lost the character)", () => {
    expect(parse(String.raw`'\q\xzz'`)).toBe("\\q\\xzz");
  });

  it("decodes escaped bytes as UTF-8, falling back to Latin-1", () => {
    expect(parse(String.raw`'\xc3\xa9t\xc3\xa9'`)).toBe("été");
    expect(parse(String.raw`'caf\xe9'`)).toBe("café");
    expect(parse("'déjà'")).toBe("déjà");
  });

  it("stops at a ^D like sxp.py's end-of-text", () => {
    expect(parseAll("(a)\x04(b")).toEqual([["a"]]);
  });

  it("reports errors with line and column", () => {
    const err = (text: string) => {
      try {
        parseAll(text);
      } catch (e) {
        expect(e).toBeInstanceOf(SxpParseError);
        return (e as Error).message;
      }
      throw new Error("no error");
    };
    expect(err("(a b))")).toBe("syntax error: ) (line 1, column 6)");
    expect(err("(a\n  (b c)\n  (d")).toBe("unexpected EOF: list opened here is not closed (line 3, column 3)");
    expect(err("(a 'bc")).toBe("unexpected EOF: string opened here is not closed (line 1, column 4)");
    expect(err("'\\777'")).toBe("invalid octal escape: out of range 777 (line 1, column 3)");
    expect(err("(a \x01)")).toBe("invalid character: code 1 (line 1, column 4)");
    expect(err("(".repeat(500))).toMatch(/^lists nested too deeply/);
  });

  it("parse() wants exactly one value", () => {
    expect(() => parse("")).toThrow(/no value/);
    expect(() => parse("(a) (b)")).toThrow(/Too many sxprs/);
  });
});

describe("SXP writer", () => {
  it("writes atom-safe strings bare and the rest as Python repr", () => {
    expect(show(["domain", ["name", "web1"], ["uuid", "5d6f-00ab"], ["kernel", "/boot/vmlinuz-2.6.18.8-xen"], ["s", "r-----"]]))
      .toBe("(domain (name web1) (uuid 5d6f-00ab) (kernel /boot/vmlinuz-2.6.18.8-xen) (s r-----))");
    expect(show(["args", "root=/dev/xvda1 ro"])).toBe("(args 'root=/dev/xvda1 ro')");
    expect(show(["x", "@"])).toBe("(x @)");
    expect(show(["x", "a@b"])).toBe("(x 'a@b')");
  });

  it("chooses quotes and escapes as Python 2 repr did", () => {
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(`say "hi" it's`)).toBe(`'say "hi" it\\'s'`);
    expect(pyRepr("a\tb\nc\rd\\e")).toBe("'a\\tb\\nc\\rd\\\\e'");
    expect(pyRepr("\x00\x1f\x7f")).toBe("'\\x00\\x1f\\x7f'");
    expect(pyRepr("é")).toBe("'\\xc3\\xa9'");
  });

  it("writes the empty string quoted so it reads back (xend wrote nothing)", () => {
    expect(show(["bootloader_args", ""])).toBe("(bootloader_args '')");
    expect(parse(show(["bootloader_args", ""]))).toEqual(["bootloader_args", ""]);
  });

  it("writes numbers as Python's str(): ints bare, floats with %.12g and a .0", () => {
    expect(show(["n", 0, -3, 1024, 12.5, float(0), float(12), 1700000000.123456, 1e-5, float(2.5e20), 1 / 3]))
      .toBe("(n 0 -3 1024 12.5 0.0 12.0 1700000000.12 1e-05 2.5e+20 0.333333333333)");
    expect(pyFloat(NaN)).toBe("nan");
    expect(pyFloat(-Infinity)).toBe("-inf");
    expect(pyFloat(123456789012345.6)).toBe("1.23456789012e+14");
    // What Python 2.7's str() printed at the edges of fixed notation. (An exact tie at the 12th digit
    // rounds up here and to even in Python; no time or memory figure lands on one.)
    expect([999999999999.9, 1e-4, 0.000123456789012345, 123.000000000001, -5.5, 0.00001234].map(pyFloat))
      .toEqual(["1e+12", "0.0001", "0.000123456789012", "123.0", "-5.5", "1.234e-05"]);
  });

  it("atomp follows xend: letters, digits and .-_:/~ only", () => {
    for (const s of ["abc", "0x1f", "a.b-c_d:e/f~g", "@"]) expect(atomp(s)).toBe(true);
    for (const s of ["", "a b", "a'b", "a(b", "a$b", "a#b", "é", "a,b", "a=b"]) expect(atomp(s)).toBe(false);
  });

  it("round-trips arbitrary strings through show and parse", () => {
    const samples = ["", "plain", "with space", "it's", 'q"uote', "both ' and \"", "\\", "tab\there", "\x00\x01\x7f", "ünïcødé ✓", "(paren)", "#hash", "line\nbreak"];
    for (const s of samples) expect(parse(show(["k", s]))).toEqual(["k", s]);
  });
});

describe("SXP as xend printed it", () => {
  it("reads a domain record from xend 3.1 verbatim", () => {
    const text = "(domain (domid 1) (uuid 0b2ab1a6-33ac-d8b3-5e8a-7b95e8e8d1a4) (vcpus 1) (name guest1) " +
      "(on_poweroff destroy) (on_reboot restart) (on_crash restart) (maxmem 256) (memory 256) " +
      "(shadow_memory 0) (cpu_weight 256) (cpu_cap 0) (features ) (on_xend_start ignore) (on_xend_stop ignore) " +
      "(start_time 1187884153.19) (cpu_time 3.546447389) (online_vcpus 1) " +
      "(image (linux (kernel /boot/vmlinuz-2.6.18-xen) (args 'root=/dev/sda1 ro'))) (status 2) (state -b----) " +
      "(store_mfn 196619) (console_mfn 196618) (device (vif (backend 0) (script vif-bridge) (mac 00:16:3e:5b:1a:c7))))";
    const [dom] = parseAll(text);
    expect(name(dom)).toBe("domain");
    expect(childValue(dom!, "state")).toBe("-b----");
    expect(childValue(dom!, "features")).toBeUndefined();
    expect(child(dom!, "features")).toEqual(["features"]);
    expect(childValue(child(child(dom!, "image")!, "linux")!, "args")).toBe("root=/dev/sda1 ro");
    expect(children(dom!, "device")).toHaveLength(1);
    expect(show(dom!)).toBe(text.replace("(features )", "(features)"));
  });

  it("prints the xend.err and ls forms", () => {
    expect(show(["xend.err", "Domain 'web9' does not exist."])).toBe(`(xend.err "Domain 'web9' does not exist.")`);
    expect(show(["xend.err", "Missing parameter: memory"])).toBe("(xend.err 'Missing parameter: memory')");
    expect(show(["vcpu", ["cpumap", [0, 1, 2, 3]]])).toBe("(vcpu (cpumap (0 1 2 3)))");
  });

  it("skips (@ …) attributes in children()", () => {
    const node = parse("(dev (@ (id 3) (k v)) (a 1) (b 2))");
    expect(attributes(node)).toEqual([["id", "3"], ["k", "v"]]);
    expect(children(node)).toEqual([["a", "1"], ["b", "2"]]);
    expect(childValue(node, "b")).toBe("2");
  });
});
