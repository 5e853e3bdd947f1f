/**
 * `xvm mdb <core>`: the seed's "dumps can be processed with mdb(1)", for the dumps xvm writes.
 * A small debugger in the spirit of mdb: dcmds are `[addr[,count]]::name [args]`, numbers are
 * hexadecimal unless prefixed (`0t` decimal, `0x` hex, `0o` octal, `0i` binary) as in mdb.
 *
 * Without `-e`, it prints `::status` and then reads commands: with a prompt on a terminal, or one per
 * line from a non-terminal stdin. With `-e 'cmd'` (repeatable, `;` separates commands) it runs just
 * those and exits. The exit status is 1 when the file is not a readable dump, or when a command run
 * non-interactively failed; an interactive session ends with 0 on `::quit` or end of input.
 */
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { Command, Option, type CommandClass } from "clipanion";
import { XvmCommand } from "./base.ts";
import { XvmError, errorMessage } from "../errors.ts";
import { XenCoreFile } from "../formats/elfcore-read.ts";

/**
 * The simulated guests' "start info" page, as src/hypervisor/sim/programs.ts documents it (page
 * frame 0, little-endian): magic "XVMSIM01" at 0x00, u32 program id at 0x08 (1 idle, 2 counter,
 * 3 memwriter), u32 layout version at 0x0c, u64 heartbeat counter at 0x10. Mirrored here rather than
 * imported so the reader does not load the simulator; test/unit/mdb-counter.test.ts checks they agree.
 */
export const SIM_MAGIC = "XVMSIM01";
export const SIM_OFF_PROGRAM = 0x08;
export const SIM_COUNTER_ADDR = 0x10;
const SIM_PROGRAMS: Record<number, string> = { 1: "sim:idle", 2: "sim:counter", 3: "sim:memwriter", 4: "sim:busy", 5: "sim:disk" };

class UsageError extends Error {}

export function parseNumber(text: string): number {
  const t = text.trim().toLowerCase();
  let radix = 16;
  let digits = t;
  if (t.startsWith("0t")) { radix = 10; digits = t.slice(2); }
  else if (t.startsWith("0x")) { radix = 16; digits = t.slice(2); }
  else if (t.startsWith("0o")) { radix = 8; digits = t.slice(2); }
  else if (t.startsWith("0i")) { radix = 2; digits = t.slice(2); }
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-f]+$/ }[radix]!;
  if (!valid.test(digits)) throw new UsageError(`bad number '${text}' (hexadecimal by default; 0t for decimal)`);
  const n = Number.parseInt(digits, radix);
  if (!Number.isSafeInteger(n)) throw new UsageError(`number '${text}' is too large`);
  return n;
}

const hex = (n: number | bigint, width = 0) => n.toString(16).padStart(width, "0");

function formatBytes(n: number): string {
  if (n >= 2 ** 30 && n % 2 ** 30 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 1)} MiB`;
  return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
}

/** hexdump -C style lines; repeated lines collapse to `*`, as hexdump and mdb's ::dump do. */
export function hexDump(data: Uint8Array, base: number): string {
  const width = Math.max(8, hex(base + data.length).length);
  const lines: string[] = [];
  let previous = "";
  let starred = false;
  for (let off = 0; off < data.length; off += 16) {
    const row = data.subarray(off, Math.min(off + 16, data.length));
    const bytes = Array.from(row, (b) => hex(b, 2));
    const body = bytes.slice(0, 8).join(" ").padEnd(23) + "  " + bytes.slice(8).join(" ").padEnd(23);
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    const key = body;
    if (key === previous && off + 16 < data.length) {
      if (!starred) lines.push("*");
      starred = true;
      continue;
    }
    starred = false;
    previous = key;
    lines.push(`${hex(base + off, width)}  ${body}  |${ascii}|`);
  }
  return lines.join("\n") + "\n";
}

interface Dcmd {
  help: string;
  run(core: XenCoreFile, addr: number | undefined, count: number | undefined, args: string[]): string;
}

function status(core: XenCoreFile): string {
  const h = core.header;
  const d = core.domain;
  const who = d.name !== undefined ? `${d.name} (domid ${d.domid ?? "?"}${d.uuid ? `, uuid ${d.uuid}` : ""})` : h.format === "qemu" ? "unknown (QEMU's dump names no domain; see the file name)" : "unknown (no .note.xvm)";
  const xen = h.xenVersion ? `Xen ${h.xenVersion.major}.${h.xenVersion.minor}${h.xenVersion.extra}` : h.format === "qemu" ? "QEMU" : "unknown";
  if (h.format === "qemu") {
    return [
      `debugging core file: ${core.path}`,
      `domain:      ${who}`,
      `format:      QEMU dump-guest-memory, ELF64 ET_CORE (program headers, NT_PRSTATUS notes)`,
      `hypervisor:  ${xen}`,
      `vCPUs:       ${h.nrVcpus}`,
      `pages:       ${h.nrPages} of ${h.pageSize} bytes (${formatBytes(h.nrPages * h.pageSize)})`,
    ].join("\n") + "\n";
  }
  return [
    `debugging core file: ${core.path}`,
    `domain:      ${who}`,
    ...(d.time ? [`dump time:   ${d.time}`] : []),
    `format:      Xen dump-core ${h.formatVersion[0]}.${h.formatVersion[1]}, ELF64 ET_CORE, ${h.hvm ? "HVM" : "PV"} (magic 0x${hex(h.magic)})`,
    `hypervisor:  ${xen}`,
    `vCPUs:       ${h.nrVcpus}`,
    `pages:       ${h.nrPages} of ${h.pageSize} bytes (${formatBytes(h.nrPages * h.pageSize)})`,
  ].join("\n") + "\n";
}

function regs(core: XenCoreFile, which: number | undefined): string {
  const vcpus = which === undefined ? core.vcpus : core.vcpus.filter((v) => v.number === which);
  if (which !== undefined && vcpus.length === 0) {
    throw new UsageError(`no vCPU ${which} in this dump (vCPUs: ${core.vcpus.map((v) => v.number).join(", ") || "none"})`);
  }
  if (core.vcpus.length === 0) return core.header.nrVcpus ? `vCPU state is in an unknown layout (${core.domain.prstatus})\n` : "no vCPUs in this dump\n";
  const out: string[] = [];
  for (const v of vcpus) {
    out.push(`vCPU ${v.number}:`);
    const w = Math.max(0, ...v.regs.map(([n]) => n.length));
    for (const [name, value] of v.regs) out.push(`    %${name.padEnd(w)} = 0x${hex(value, 16)}  ${value}`);
    if (v.regs.length === 0) out.push("    (no registers)");
  }
  return out.join("\n") + "\n";
}

function page(core: XenCoreFile, pfn: number | undefined): string {
  if (pfn === undefined) throw new UsageError("::page needs a page frame number: <pfn>::page (hexadecimal; 0t for decimal)");
  if (!core.hasPfn(pfn)) {
    throw new UsageError(`page frame 0x${hex(pfn)} is not in this dump (frames 0x0-0x${hex(Math.max(0, core.header.nrPages - 1))})`);
  }
  const size = core.header.pageSize;
  const base = pfn * size;
  return `page frame 0x${hex(pfn)} (guest-physical 0x${hex(base)}-0x${hex(base + size - 1)}):\n` + hexDump(core.readPage(pfn), base);
}

function dump(core: XenCoreFile, addr: number | undefined, count: number | undefined): string {
  if (addr === undefined) throw new UsageError("::dump needs an address: <addr>[,<count>]::dump");
  const length = count ?? 0x100;
  const end = core.header.nrPages * core.header.pageSize;
  if (addr + length > end) throw new UsageError(`0x${hex(addr)}+0x${hex(length)} is beyond guest memory (0x${hex(end)} bytes)`);
  return hexDump(core.readPhys(addr, length), addr);
}

function counter(core: XenCoreFile, addr: number | undefined): string {
  const end = core.header.nrPages * core.header.pageSize;
  if (addr !== undefined) {
    if (addr + 8 > end) throw new UsageError(`counter address 0x${hex(addr)} is beyond guest memory (0x${hex(end)} bytes)`);
    const value = core.readPhys(addr, 8).readBigUInt64LE(0);
    return `counter = ${value} (0x${hex(value)}) at guest-physical 0x${hex(addr)}\n`;
  }
  if (end < 0x20) throw new UsageError("this dump has no start info page");
  const info = core.readPhys(0, 0x20);
  if (info.toString("latin1", 0, 8) !== SIM_MAGIC) {
    throw new UsageError(`no simulated-guest start info in page frame 0 (no ${SIM_MAGIC} magic): not a sim guest, or it never booted; <addr>::counter reads any address`);
  }
  const id = info.readUInt32LE(SIM_OFF_PROGRAM);
  const program = SIM_PROGRAMS[id] ?? `unknown program ${id}`;
  const value = info.readBigUInt64LE(SIM_COUNTER_ADDR);
  const note = program === "sim:counter" ? "" : ` (guest program is ${program}, which does not count)`;
  return `counter = ${value} (0x${hex(value)})${note}\n`;
}

const DCMDS: Record<string, Dcmd> = {
  status: { help: "dump header: domain, format, hypervisor version, vCPUs, pages", run: (c) => status(c) },
  regs: { help: "[vcpu]::regs  register state of every vCPU (or of one)", run: (c, a) => regs(c, a) },
  page: { help: "<pfn>::page  hex dump of one page by its frame number", run: (c, a) => page(c, a) },
  dump: { help: "<addr>[,<count>]::dump  hex dump of guest-physical memory (default 0x100 bytes)", run: (c, a, n) => dump(c, a, n) },
  counter: {
    help: `[addr]::counter  the sim:counter guest's heartbeat counter (or the uint64 at addr)`,
    run: (c, a) => counter(c, a),
  },
  help: { help: "list the dcmds", run: () => helpText() },
  dcmds: { help: "list the dcmds", run: () => helpText() },
  quit: { help: "leave (also ::q, $q)", run: () => "" },
};

function helpText(): string {
  const lines = Object.entries(DCMDS).filter(([n]) => n !== "dcmds").map(([n, d]) => `  ::${n.padEnd(8)} ${d.help}`);
  return ["dcmds (numbers are hexadecimal; 0t prefix for decimal, e.g. 0t42::page):", ...lines].join("\n") + "\n";
}

/** Splits a command line on `;` (mdb's separator). */
function splitCommands(line: string): string[] {
  return line.split(";").map((s) => s.trim()).filter((s) => s.length > 0);
}

export type DcmdResult = { output: string; quit: boolean };

/** Runs one command; throws UsageError/XvmError for the caller to report. */
export function runDcmd(core: XenCoreFile, text: string): DcmdResult {
  const t = text.trim();
  if (t === "$q" || t === "::q" || t === "::quit") return { output: "", quit: true };
  const m = /^([^:]*)::(\w+)\s*(.*)$/.exec(t);
  if (!m) throw new UsageError(`syntax error: '${t}' (try ::help)`);
  const [, prefix, name, rest] = m as unknown as [string, string, string, string];
  const dcmd = DCMDS[name];
  if (!dcmd) throw new UsageError(`unknown dcmd '::${name}' (try ::help)`);
  let addr: number | undefined;
  let count: number | undefined;
  if (prefix.trim()) {
    const [a, n, ...extra] = prefix.split(",");
    if (extra.length) throw new UsageError(`syntax error: '${prefix}'`);
    addr = parseNumber(a!);
    if (n !== undefined) count = parseNumber(n);
  }
  const args = rest.split(/\s+/).filter(Boolean);
  return { output: dcmd.run(core, addr, count, args), quit: name === "quit" };
}

async function session(core: XenCoreFile, input: Readable, stdout: Writable, stderr: Writable, interactive: boolean): Promise<number> {
  const rl = createInterface({ input, output: interactive ? stdout : undefined, terminal: interactive });
  let failed = false;
  const prompt = () => interactive && rl.prompt();
  rl.setPrompt("> ");
  prompt();
  try {
    for await (const line of rl) {
      for (const cmd of splitCommands(line)) {
        try {
          const r = runDcmd(core, cmd);
          stdout.write(r.output);
          if (r.quit) return interactive ? 0 : failed ? 1 : 0;
        } catch (error) {
          failed = true;
          stderr.write(`mdb: ${errorMessage(error)}\n`);
        }
      }
      prompt();
    }
  } finally {
    rl.close();
  }
  if (interactive) stdout.write("\n");
  return interactive ? 0 : failed ? 1 : 0;
}

class MdbCommand extends XvmCommand {
  static override paths = [["mdb"]];
  static override usage = Command.Usage({
    description: "examine a domain core dump (Xen dump-core ELF)",
    details: `
      Reads a core file written when a domain crashed (\`var/xen/dump/*.core\`) or by \`xm dump-core\`.
      Without \`-e\` it prints the dump's header and reads dcmds from standard input (with a \`> \` prompt
      on a terminal). Numbers are hexadecimal unless prefixed with \`0t\` (decimal), as in mdb.

      dcmds: \`::status\`, \`[vcpu]::regs\`, \`<pfn>::page\`, \`<addr>[,<count>]::dump\`, \`[addr]::counter\`,
      \`::help\`, \`::quit\`.
    `,
    examples: [
      ["Show the header and enter the prompt", "$0 mdb /var/xen/dump/2009-0430-1433.32-myvm.5.core"],
      ["Print the vCPU registers and page frame 0x10", "$0 mdb -e ::regs -e 10::page web1.core"],
      ["Read the sim:counter guest's counter", "$0 mdb -e ::counter web1.core"],
    ],
  });
  exec = Option.Array("-e", [], { description: "run this dcmd and exit (repeatable; `;` separates dcmds)" });
  core = Option.String({ required: true, name: "core" });

  async execute(): Promise<number> {
    let core: XenCoreFile;
    try {
      core = XenCoreFile.open(this.core);
    } catch (error) {
      if (error instanceof XvmError) return this.fail(error.message, error.exitCode);
      throw error;
    }
    const { stdout, stderr } = this.context;
    try {
      if (this.exec.length > 0) {
        let failed = false;
        for (const cmd of this.exec.flatMap(splitCommands)) {
          try {
            const r = runDcmd(core, cmd);
            stdout.write(r.output);
            if (r.quit) break;
          } catch (error) {
            failed = true;
            stderr.write(`mdb: ${errorMessage(error)}\n`);
          }
        }
        return failed ? 1 : 0;
      }
      stdout.write(status(core));
      const stdin = this.context.stdin as Readable & { isTTY?: boolean };
      return await session(core, stdin, stdout, stderr, Boolean(stdin.isTTY));
    } finally {
      core.close();
    }
  }
}

export const commands: CommandClass[] = [MdbCommand];
