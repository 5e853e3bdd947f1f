/**
 * `xm`, `xm help [subcommand]`, `xm --help`: the list of xm's subcommands as xm printed it
 * (`' %-20s %-50s'` per command), built from the commands registered under `xm` (plugins' included).
 * `xm <unknown>` says so and lists them, with exit status 1 as xm did.
 */
import { Command, Option } from "clipanion";
import { XmCommand } from "./base.ts";
import { XM34_HELP, wrap } from "./xm34.ts";

/** 3.4's `common_commands`, what `xm` alone listed. */
const COMMON = [
  "console", "create", "new", "delete", "destroy", "dump-core", "help", "list", "mem-set", "migrate", "pause", "reboot",
  "restore", "resume", "save", "shell", "shutdown", "start", "suspend", "top", "unpause", "uptime", "vcpu-set",
];

/** xm 3.4's order (domain, host, device commands); commands it did not have follow, sorted. */
const ORDER = [
  "console", "create", "new", "delete", "destroy", "domid", "domname", "dump-core", "list", "mem-max", "mem-set",
  "migrate", "pause", "reboot", "rename", "reset", "restore", "resume", "save", "shutdown", "start", "suspend", "sysrq",
  "trigger", "top", "unpause", "uptime", "vcpu-list", "vcpu-pin", "vcpu-set", "debug-keys", "dmesg", "info", "log",
  "serve", "sched-credit", "sched-sedf", "network-list", "help",
];

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return "";
  return `${t[0]!.toUpperCase()}${t.slice(1)}${/[.!?]$/.test(t) ? "" : "."}`;
}

export class XmHelpCommand extends XmCommand {
  static override paths = [["xm"], ["xm", "help"], ["xm", "--help"], ["xm", "-h"]];
  static override usage = Command.Usage({
    description: "display the list of xm subcommands",
    details: "`xm help <subcommand>` (or `xm <subcommand> --help`) shows one subcommand's options and examples.",
    examples: [["Every subcommand", "$0 xm help"], ["How to use xm create", "$0 xm help create"]],
  });
  args = Option.Proxy();

  /**
   * `xm` with no subcommand: 3.4's shortHelp() (USAGE_HELP, the common commands as ' %-20s %-50s',
   * USAGE_FOOTER) with exit status 1. Only commands this xm has are listed.
   */
  private shortHelp(): string {
    const have = new Set<string>();
    for (const def of this.cli.definitions()) {
      const m = /^\S+ xm ([a-z][a-z0-9-]*)(?:\s|$)/.exec(def.path);
      if (m) have.add(m[1]!);
    }
    have.add("help");
    const lines = ["Usage: xm <subcommand> [args]", "", "Control, list, and manipulate Xen guest instances.", "", "Common 'xm' commands:", ""];
    for (const command of COMMON) {
      const help = XM34_HELP[command];
      if (!help || !have.has(command)) continue;
      const [first = "", ...more] = wrap(help[1], 50);
      lines.push(` ${command.padEnd(20)} ${first.padEnd(50)}`, ...more.map((l) => `${" ".repeat(22)}${l}`));
    }
    lines.push(
      "",
      "<Domain> can either be the Domain Name or Id.",
      "For more help on 'xm' see the xm(1) man page.",
      "For more help on 'xm create' see the xmdomain.cfg(5)  man page.",
      "",
      "For a complete list of subcommands run 'xm help'.",
    );
    return lines.map((l) => `${l}\n`).join("");
  }

  private listing(): string {
    const entries = new Map<string, string>();
    for (const def of this.cli.definitions()) {
      const m = /^\S+ xm ([a-z][a-z0-9-]*)(?:\s|$)/.exec(def.path);
      if (!m || m[1] === "help" && def.path.includes("--help")) continue;
      if (!entries.has(m[1]!)) entries.set(m[1]!, sentence(def.description ?? ""));
    }
    entries.set("help", "Display this message.");
    const names = [...entries.keys()].sort((a, b) => {
      const ia = ORDER.indexOf(a);
      const ib = ORDER.indexOf(b);
      if (ia >= 0 && ib >= 0) return ia - ib;
      if (ia >= 0) return -1;
      if (ib >= 0) return 1;
      return a < b ? -1 : 1;
    });
    const lines = [
      "Usage: xm <subcommand> [args]",
      "",
      "Control, list, and manipulate Xen guest instances.",
      "",
      "xm full list of subcommands:",
      "",
      ...names.map((n) => ` ${n.padEnd(20)} ${entries.get(n)}`.trimEnd()),
      "",
      "<Domain> can be the domain's name, id or uuid.",
      "'xm <subcommand> --help' shows a subcommand's options and examples.",
    ];
    return lines.map((l) => `${l}\n`).join("");
  }

  async execute(): Promise<number> {
    const path = this.path;
    const [first, ...rest] = this.args;
    if (path.length === 2 && path[1] === "help" && first !== undefined) {
      return this.cli.run(["xm", first, "--help", ...rest]);
    }
    if (path.length === 1 && first !== undefined && first !== "--help" && first !== "-h") {
      this.context.stderr.write(`Error: Subcommand ${first} not found!\n`);
      this.context.stderr.write(this.listing());
      return 1;
    }
    if (path.length === 1 && first === undefined) {
      this.out(this.shortHelp());
      return 1;
    }
    this.out(this.listing());
    return 0;
  }
}
